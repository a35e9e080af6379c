package oidctest

import (
	"net/http"
	"testing"
)

func TestUserinfoClaims(t *testing.T) {
	s := newTestServer(t, Config{})
	s.SetUser(User{Subject: "carol", Claims: map[string]any{
		"name": "Carol", "groups": []any{"admins", "ops"}, "sub": "spoofed", "iss": "spoofed",
	}})
	tokens := newFlow(s).tokens(t)
	s.SetUser(DefaultUser()) // tokens keep the user they were issued for
	status, info := getJSON(t, s, "/userinfo", bearer(tokens["access_token"]))
	wantEqual(t, "status", status, http.StatusOK)
	wantEqual(t, "sub", info["sub"], "carol")
	wantEqual(t, "name", info["name"], "Carol")
	wantEqual(t, "groups", len(info["groups"].([]any)), 2)
	if _, ok := info["email"]; ok {
		t.Error("email of another user")
	}
	// POST with the header works too (Core §5.3.1).
	resp, _ := post(t, s, "/userinfo", nil, bearer(tokens["access_token"]))
	wantEqual(t, "POST status", resp.StatusCode, http.StatusOK)
}
