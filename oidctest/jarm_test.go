package oidctest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// jarmResponse runs f's authorization request with response_mode mode and
// returns the response parameter, from the redirect or the form.
func (f *flow) jarmResponse(t *testing.T, mode string) string {
	t.Helper()
	if f.extra == nil {
		f.extra = url.Values{}
	}
	f.extra.Set("response_mode", mode)
	resp, body := authorizeQuery(t, f.s, f.params())
	var p url.Values
	if strings.HasPrefix(mode, "form_post") {
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("authorize: %d", resp.StatusCode)
		}
		action, fields, err := ParseFormPost(strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "action", action, f.redirectURI)
		p = fields
	} else {
		p = redirectQuery(t, resp, body)
	}
	if len(p) != 1 || p.Get("response") == "" {
		t.Fatalf("authorization response %v, want only response", p)
	}
	return p.Get("response")
}

func TestJARM(t *testing.T) {
	for _, mode := range []string{"jwt", "query.jwt", "form_post.jwt"} {
		t.Run(mode, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			s := newTestServer(t, Config{Now: clk.Now, JARM: true, Alg: "ES256"})
			f := newFlow(s)
			raw := f.jarmResponse(t, mode)
			header, _ := decodeJWT(t, raw)
			wantEqual(t, "alg", header["alg"], "ES256")
			c := mustVerify(t, s, raw)
			wantEqual(t, "iss", c["iss"], s.URL)
			wantEqual(t, "aud", c["aud"], DefaultClientID)
			wantEqual(t, "exp", c["exp"], float64(clk.Now().Add(10*time.Minute).Unix()))
			wantEqual(t, "state", c["state"], f.state)
			code, _ := c["code"].(string)
			if status, _, body := f.redeem(t, code); status != http.StatusOK {
				t.Errorf("token: %d %v", status, body)
			}

			// Errors are wrapped too.
			f = newFlow(s)
			f.extra = url.Values{"prompt": {"none"}, "max_age": {"0"}}
			c = mustVerify(t, s, f.jarmResponse(t, mode))
			wantEqual(t, "error", c["error"], "login_required")
			wantEqual(t, "state", c["state"], f.state)
			if _, ok := c["code"]; ok {
				t.Error("code in an error response")
			}
		})
	}
}

func TestJARMOff(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, mode := range []string{"jwt", "query.jwt", "form_post.jwt", "fragment.jwt"} {
		f := newFlow(s)
		f.extra = url.Values{"response_mode": {mode}}
		p := f.authorize(t)
		wantEqual(t, mode+": error", p.Get("error"), "invalid_request")
		wantEqual(t, mode+": state", p.Get("state"), f.state)
	}
	_, doc := getJSON(t, s, discoveryPath, nil)
	if _, ok := doc["authorization_signing_alg_values_supported"]; ok {
		t.Error("authorization_signing_alg_values_supported without JARM")
	}
	s = newTestServer(t, Config{JARM: true, Alg: "PS256"})
	_, doc = getJSON(t, s, discoveryPath, nil)
	if got := strs(doc["response_modes_supported"]); !slices.Equal(got, []string{"query", "form_post", "jwt", "query.jwt", "form_post.jwt"}) {
		t.Errorf("response_modes_supported = %v", got)
	}
	if got := strs(doc["authorization_signing_alg_values_supported"]); !slices.Equal(got, []string{"PS256"}) {
		t.Errorf("authorization_signing_alg_values_supported = %v", got)
	}
	// fragment.jwt is refused with JARM too: no implicit or hybrid flows.
	f := newFlow(s)
	f.extra = url.Values{"response_mode": {"fragment.jwt"}}
	wantEqual(t, "fragment.jwt", f.authorize(t).Get("error"), "invalid_request")
}

// jarmCheck runs a flow with response_mode jwt on a JARM server with
// the behaviours of the plain server and checks the unverified response
// JWT; verifies says whether it must verify against the JWKS.
func jarmCheck(check func(t *testing.T, s *Server, f *flow, c map[string]any), verifies bool) func(*testing.T, *Server) {
	return func(t *testing.T, plain *Server) {
		s := newTestServer(t, Config{Now: func() time.Time { return behaviorEpoch }, JARM: true})
		plain.mu.Lock()
		s.Misbehave(plain.behaviors...)
		plain.mu.Unlock()
		f := newFlow(s)
		raw := f.jarmResponse(t, "jwt")
		if _, err := verify(t, s, raw); (err == nil) != verifies {
			t.Errorf("verifies = %v, want %v", err == nil, verifies)
		}
		_, c := decodeJWT(t, raw)
		if c["code"] == nil || c["state"] != f.state {
			t.Errorf("parameters changed: %v", c)
		}
		check(t, s, f, c)
		// Plain response modes are unaffected.
		p := newFlow(s).authorize(t)
		if p.Get("code") == "" || p.Get("iss") != s.URL {
			t.Errorf("query response: %v", p)
		}
	}
}
