package oidctest

import (
	"crypto/rand"
	"encoding/json"
	"html"
	"net/http"
	"strings"
)

// writeJSON writes v with status, not cacheable.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "oidctest: encoding response", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// oauthError writes an RFC 6749 §5.2 error response. desc must not contain
// secrets: it is shown to the client.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// writeHTML writes a minimal HTML page.
func writeHTML(w http.ResponseWriter, status int, title, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
		html.EscapeString(title) + "</title></head>\n<body><h1>" + html.EscapeString(title) +
		"</h1><p>" + html.EscapeString(msg) + "</p></body></html>\n"))
}

// randomToken returns 256 random bits as text (base32, URL-safe).
func randomToken() string {
	return rand.Text() + rand.Text()
}

// hasScope reports whether the space-separated scope list contains want.
func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}
