package oidcmw

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw/oidctest"
)

// TestCallbackRefusesMalformedPendingRecord: a pending login read back
// from a shared store is untrusted; one whose browser binding is not a
// token (too short to name a cookie) is refused, not a panic.
func TestCallbackRefusesMalformedPendingRecord(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	m, err := New(Options{Issuer: op.URL, ClientID: oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret, RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		t.Fatal(err)
	}
	const state = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	rec := pendingRecord{state: state, binding: "x", issuer: op.URL, codeVerifier: "v", nonce: "n",
		returnTo: "/", expires: time.Now().Add(time.Minute).UnixNano()}
	if err := m.opts.Store.Put(context.Background(), pendingKey(state), rec.marshal(), time.Minute); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	m.Callback(w, httptest.NewRequest(http.MethodGet, "/cb?code=c&state="+state+"&iss="+op.URL, nil))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("malformed pending record: %d", w.Code)
	}
}
