package oidcmw

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestTransportUnreadableDPoPKey: a session whose DPoP key does not parse
// never calls an API with its token as Bearer: every request fails.
func TestTransportUnreadableDPoPKey(t *testing.T) {
	var called bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	defer api.Close()
	id := &Identity{AccessToken: "at", TokenType: "DPoP", dpop: []byte("not a key")}
	resp, err := (&http.Client{Transport: id.Transport(nil)}).Get(api.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request sent (%d)", resp.StatusCode)
	}
	if called {
		t.Fatal("the API was called")
	}
}

// TestDPoPNonceKeyedByServer: the token endpoint's nonce is kept under its
// host, so that two servers' nonces never mix.
func TestDPoPNonceKeyedByServer(t *testing.T) {
	var n dpopNonces
	n.set(nonceKeyOf("https://op.example/token"), "n1")
	n.set(nonceKeyOf("https://other.example/token"), "n2")
	if got := n.get(nonceKeyOf("https://op.example/par")); got != "n1" {
		t.Errorf("op.example: %q", got)
	}
	if got := n.get(nonceKeyOf("https://other.example/token")); got != "n2" {
		t.Errorf("other.example: %q", got)
	}
}
