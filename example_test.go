package oidcmw_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// browse opens url like a browser: it keeps cookies, follows redirects
// (through the provider's login, which oidctest approves at once) and
// returns the final page.
func browse(jar http.CookieJar, url string) string {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}

func ExampleNew() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()

	m, err := oidcmw.New(oidcmw.Options{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  "http://127.0.0.1:8080/auth/callback",
	})
	fmt.Println(m != nil, err)

	_, err = oidcmw.New(oidcmw.Options{
		Issuer:      op.URL,
		ClientID:    "app",
		RedirectURL: "http://app.example.com/auth/callback",
	})
	fmt.Println(err)
	// Output:
	// true <nil>
	// oidcmw: Options.RedirectURL "http://app.example.com/auth/callback" uses http on a non-loopback host (set InsecureAllowHTTP to allow)
}

func ExampleMiddleware_Guard() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()

	m, err := oidcmw.New(oidcmw.Options{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  app.URL + "/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.HandleFunc("GET /auth/callback", m.Callback)
	mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", id.Subject)
	})))

	fmt.Println(browse(newJar(), app.URL+"/dashboard"))
	// Output: hello alice
}

// Handlers behind the guard can be tested without a provider: put an
// Identity into the request context with NewContext.
func ExampleFromContext() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := oidcmw.FromContext(r.Context())
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		var claims struct {
			Email string `json:"email"`
		}
		if err := id.Claims(&claims); err != nil {
			http.Error(w, "bad claims", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s <%s>", id.Subject, claims.Email)
	})

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	id := &oidcmw.Identity{Subject: "alice", RawClaims: []byte(`{"sub":"alice","email":"alice@example.com"}`)}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req.WithContext(oidcmw.NewContext(context.Background(), id)))
	fmt.Println(rec.Body.String())
	// Output: alice <alice@example.com>
}
