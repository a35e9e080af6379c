package oidctest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var defaultAuth = basicAuth(DefaultClientID, DefaultClientSecret)

// push sends f's authorization request to the PAR endpoint and returns
// the request_uri.
func (f *flow) push(t *testing.T) string {
	t.Helper()
	status, _, body := postJSON(t, f.s, "/par", f.params(), defaultAuth)
	if status != http.StatusCreated {
		t.Fatalf("par: %d %v", status, body)
	}
	uri, _ := body["request_uri"].(string)
	return uri
}

// byReference is the authorization request that uses a pushed request.
func byReference(clientID, uri string) url.Values {
	return url.Values{"client_id": {clientID}, "request_uri": {uri}}
}

func TestPAR(t *testing.T) {
	s := newTestServer(t, Config{})
	f := newFlow(s)
	status, h, body := postJSON(t, s, "/par", f.params(), defaultAuth)
	if status != http.StatusCreated {
		t.Fatalf("par: %d %v", status, body)
	}
	uri, _ := body["request_uri"].(string)
	if !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || len(uri) < len(requestURIPrefix)+32 {
		t.Errorf("request_uri = %q", uri)
	}
	wantEqual(t, "expires_in", body["expires_in"], 60.0)
	wantEqual(t, "Cache-Control", h.Get("Cache-Control"), "no-store")

	// Other query parameters are ignored: the pushed ones count.
	q := byReference(DefaultClientID, uri)
	q.Set("state", "not-the-pushed-state")
	q.Set("redirect_uri", "https://attacker.example/cb")
	q.Set("scope", "profile")
	p := authorizeRedirect(t, s, q)
	wantEqual(t, "state", p.Get("state"), f.state)
	wantEqual(t, "iss", p.Get("iss"), s.URL)
	status, _, tokens := f.redeem(t, p.Get("code"))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, tokens)
	}
	wantEqual(t, "nonce", mustVerify(t, s, tokens["id_token"].(string))["nonce"], f.nonce)

	// One use only.
	resp, _ := authorizeQuery(t, s, byReference(DefaultClientID, uri))
	wantPage(t, resp)

	// The endpoint is in discovery.
	_, doc := getJSON(t, s, discoveryPath, nil)
	wantEqual(t, "pushed_authorization_request_endpoint", doc["pushed_authorization_request_endpoint"], s.URL+"/par")
	wantEqual(t, "require_pushed_authorization_requests", doc["require_pushed_authorization_requests"], false)
}

func TestPARRequestURIRefused(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now})
	s.AddClient(Client{ID: "other", Secret: "x"})
	tests := []struct {
		name  string
		query func(uri string) url.Values
		after func()
	}{
		{name: "unknown", query: func(string) url.Values {
			return byReference(DefaultClientID, requestURIPrefix+"nope")
		}},
		{name: "not from PAR", query: func(string) url.Values {
			return byReference(DefaultClientID, "https://rp.example/request.jwt")
		}},
		{name: "another client", query: func(uri string) url.Values { return byReference("other", uri) }},
		{name: "no client_id", query: func(uri string) url.Values { return url.Values{"request_uri": {uri}} }},
		{name: "expired", query: func(uri string) url.Values { return byReference(DefaultClientID, uri) },
			after: func() { clk.Add(61 * time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(s)
			uri := f.push(t)
			if tt.after != nil {
				tt.after()
			}
			q := tt.query(uri)
			q.Set("redirect_uri", testRedirect) // ignored: the request_uri is what counts
			resp, _ := authorizeQuery(t, s, q)
			wantPage(t, resp)
		})
	}
}

func TestPARRefused(t *testing.T) {
	s := newTestServer(t, Config{})
	s.AddClient(Client{ID: "strict", Secret: "x", RedirectURIs: []string{"https://app.example/cb"}})
	tests := []struct {
		name   string
		edit   func(url.Values)
		auth   func(*http.Request)
		status int
		code   string
	}{
		{name: "no client authentication", auth: func(*http.Request) {}, status: 401, code: "invalid_client"},
		{name: "wrong secret", auth: basicAuth(DefaultClientID, "nope"), status: 401, code: "invalid_client"},
		{name: "request_uri pushed", edit: func(p url.Values) { p.Set("request_uri", requestURIPrefix+"x") },
			status: 400, code: "invalid_request"},
		{name: "client_id of another client", edit: func(p url.Values) { p.Set("client_id", "strict") },
			status: 401, code: "invalid_client"},
		{name: "unregistered redirect_uri", auth: basicAuth("strict", "x"),
			edit:   func(p url.Values) { p.Set("client_id", "strict") },
			status: 400, code: "invalid_request"},
		{name: "no PKCE", edit: func(p url.Values) { p.Del("code_challenge") }, status: 400, code: "invalid_request"},
		{name: "implicit", edit: func(p url.Values) { p.Set("response_type", "token") }, status: 400, code: "unsupported_response_type"},
		{name: "JARM mode without Config.JARM", edit: func(p url.Values) { p.Set("response_mode", "jwt") }, status: 400, code: "invalid_request"},
		{name: "relative resource", edit: func(p url.Values) { p.Set("resource", "/api") }, status: 400, code: "invalid_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFlow(s).params()
			if tt.edit != nil {
				tt.edit(p)
			}
			auth := defaultAuth
			if tt.auth != nil {
				auth = tt.auth
			}
			status, _, body := postJSON(t, s, "/par", p, auth)
			wantOAuthError(t, status, body, tt.status, tt.code)
		})
	}
}

func TestRequirePAR(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    Config
		client Client
	}{
		{"Config.RequirePAR", Config{RequirePAR: true}, Client{ID: "c", Secret: "x"}},
		{"Client.RequirePAR", Config{}, Client{ID: "c", Secret: "x", RequirePAR: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.cfg)
			s.AddClient(tt.client)
			strict := tt.client
			strict.ID, strict.RedirectURIs = "strict", []string{"https://app.example/cb"}
			s.AddClient(strict)
			_, doc := getJSON(t, s, discoveryPath, nil)
			wantEqual(t, "require_pushed_authorization_requests", doc["require_pushed_authorization_requests"], tt.cfg.RequirePAR)

			// Without PAR: an error redirect when the redirect_uri is
			// acceptable, else a page.
			f := newFlowFor(s, "c")
			p := f.authorize(t)
			wantEqual(t, "error", p.Get("error"), "invalid_request")
			wantEqual(t, "state", p.Get("state"), f.state)
			if p.Has("code") {
				t.Error("a code without PAR")
			}
			f = newFlowFor(s, "strict")
			resp, _ := authorizeQuery(t, s, f.params())
			wantPage(t, resp)

			// With PAR it works.
			f = newFlowFor(s, "c")
			f.auth = basicAuth("c", "x")
			status, _, body := postJSON(t, s, "/par", f.params(), f.auth)
			if status != http.StatusCreated {
				t.Fatalf("par: %d %v", status, body)
			}
			p = authorizeRedirect(t, s, byReference("c", body["request_uri"].(string)))
			if status, _, body := f.redeem(t, p.Get("code")); status != http.StatusOK {
				t.Errorf("token: %d %v", status, body)
			}

			// Other clients are unaffected by Client.RequirePAR.
			if !tt.cfg.RequirePAR {
				newFlow(s).tokens(t)
			}
		})
	}
}
