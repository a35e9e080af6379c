package oidcmw_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcmw/oidcmw"
)

// TestTransportNoTokenAcrossHosts: an API that redirects to another host
// does not get the access token sent there, Bearer or DPoP; a redirect on
// the same host keeps it.
func TestTransportNoTokenAcrossHosts(t *testing.T) {
	var other string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other = r.Header.Get("Authorization") + r.Header.Get("DPoP")
	}))
	defer elsewhere.Close()
	var same string
	api := httptest.NewServer(nil)
	defer api.Close()
	api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/landing", http.StatusFound)
		default:
			same = r.Header.Get("Authorization")
		}
	})
	id := &oidcmw.Identity{AccessToken: "secret-access-token", TokenType: "Bearer"}
	c := &http.Client{Transport: id.Transport(nil)}
	resp, err := c.Get(api.URL + "/away")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if other != "" {
		t.Fatalf("the token went to another host: %q", other)
	}
	resp, err = c.Get(api.URL + "/here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if same != "Bearer secret-access-token" {
		t.Fatalf("same-host redirect: Authorization %q", same)
	}
}
