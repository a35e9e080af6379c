package oidctest

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestOPSession(t *testing.T) {
	type step struct {
		advance time.Duration
		params  url.Values // added to the authorization request
		end     bool       // EndUserSession before the request
		fresh   bool       // want a new sid and auth_time = now
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first login, then reuse", []step{
			{fresh: true},
			{advance: time.Hour},
			{advance: time.Hour, params: url.Values{"prompt": {"consent"}}},
		}},
		{"prompt=login", []step{
			{fresh: true},
			{advance: time.Minute, params: url.Values{"prompt": {"login"}}, fresh: true},
			{advance: time.Minute, params: url.Values{"prompt": {"consent login"}}, fresh: true},
			{advance: time.Minute},
		}},
		{"max_age", []step{
			{fresh: true},
			{advance: 100 * time.Second, params: url.Values{"max_age": {"100"}}},
			{advance: time.Second, params: url.Values{"max_age": {"100"}}, fresh: true},
			{advance: time.Second, params: url.Values{"max_age": {"1"}}},
			{params: url.Values{"max_age": {"0"}}, fresh: true},
		}},
		{"EndUserSession", []step{
			{fresh: true},
			{advance: time.Minute, end: true, fresh: true},
			{advance: time.Minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			s := newTestServer(t, Config{Now: clk.Now})
			var sid string
			var authTime float64
			for i, st := range tt.steps {
				clk.Add(st.advance)
				if st.end {
					s.EndUserSession("alice")
				}
				f := newFlow(s)
				f.extra = st.params
				_, _, c := f.idToken(t)
				gotSid, _ := c["sid"].(string)
				if gotSid == "" {
					t.Fatalf("step %d: no sid in %v", i, c)
				}
				if st.fresh {
					if gotSid == sid {
						t.Errorf("step %d: sid reused, want a new one", i)
					}
					sid, authTime = gotSid, float64(clk.Now().Unix())
				} else if gotSid != sid {
					t.Errorf("step %d: new sid, want the session's", i)
				}
				wantEqual(t, "auth_time", c["auth_time"], authTime)
				wantEqual(t, "iat", c["iat"], float64(clk.Now().Unix()))
			}
		})
	}
}

func TestOPSessionIsPerUser(t *testing.T) {
	s := newTestServer(t, Config{})
	_, _, alice := newFlow(s).idToken(t)
	s.SetUser(User{Subject: "bob"})
	_, _, bob := newFlow(s).idToken(t)
	if alice["sid"] == bob["sid"] {
		t.Error("alice and bob share a sid")
	}
	s.EndUserSession("bob")
	s.SetUser(DefaultUser())
	_, _, again := newFlow(s).idToken(t)
	wantEqual(t, "alice's sid after bob's session ended", again["sid"], alice["sid"])
}

func TestPromptNone(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now})
	none := url.Values{"prompt": {"none"}}
	f := newFlow(s)
	f.extra = none
	p := f.authorize(t)
	wantEqual(t, "error without session", p.Get("error"), "login_required")
	wantEqual(t, "state", p.Get("state"), f.state)

	_, _, first := newFlow(s).idToken(t)
	clk.Add(time.Minute)
	f = newFlow(s)
	f.extra = none
	_, _, c := f.idToken(t)
	wantEqual(t, "sid with session", c["sid"], first["sid"])

	f = newFlow(s)
	f.extra = url.Values{"prompt": {"none"}, "max_age": {"10"}}
	wantEqual(t, "error with max_age exceeded", f.authorize(t).Get("error"), "login_required")
}

func TestACR(t *testing.T) {
	tests := []struct {
		name, cfg, values, want string
	}{
		{"default", "", "", DefaultACR},
		{"configured", "urn:example:mfa", "", "urn:example:mfa"},
		{"requested", "urn:example:mfa", "urn:example:loa2 urn:example:loa1", "urn:example:loa2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Config{ACR: tt.cfg})
			f := newFlow(s)
			if tt.values != "" {
				f.extra = url.Values{"acr_values": {tt.values}}
			}
			tokens := f.tokens(t)
			wantEqual(t, "acr", mustVerify(t, s, tokens["id_token"].(string))["acr"], tt.want)
			status, body := refresh(t, s, tokens["refresh_token"].(string))
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, body)
			}
			wantEqual(t, "refreshed acr", mustVerify(t, s, body["id_token"].(string))["acr"], tt.want)
		})
	}
}
