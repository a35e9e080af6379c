package oidctest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a relying party's back-channel logout endpoint that records
// what it gets.
type receiver struct {
	URL    string
	status int

	mu   sync.Mutex
	reqs []Request
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, Request{Method: r.Method, Path: r.URL.Path, Form: r.PostForm, Header: r.Header})
		rc.mu.Unlock()
		w.WriteHeader(rc.status)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/backchannel"
	return rc
}

func (rc *receiver) requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.reqs...)
}

// wantLogoutRequest checks that req is a back-channel logout request with
// a valid logout token for clientID, sub and sid.
func wantLogoutRequest(t *testing.T, s *Server, req Request, clientID, sub, sid string) {
	t.Helper()
	wantEqual(t, "method", req.Method, http.MethodPost)
	wantEqual(t, "Content-Type", req.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	raw := req.Form.Get("logout_token")
	h, _ := decodeJWT(t, raw)
	wantEqual(t, "typ", h["typ"], "logout+jwt")
	c := mustVerify(t, s, raw)
	wantEqual(t, "iss", c["iss"], s.URL)
	wantEqual(t, "aud", c["aud"], clientID)
	wantEqual(t, "sub", c["sub"], sub)
	wantEqual(t, "sid", c["sid"], sid)
	if ev, _ := c["events"].(map[string]any); ev[backchannelEvent] == nil {
		t.Errorf("events = %v", c["events"])
	}
}

func endSession(t *testing.T, s *Server, p url.Values) (*http.Response, []byte) {
	t.Helper()
	return get(t, s, "/end_session?"+p.Encode(), nil)
}

// sid runs a code flow for the default client and returns the sid and
// the raw ID token.
func sid(t *testing.T, s *Server) (string, string) {
	t.Helper()
	raw, _, c := newFlow(s).idToken(t)
	return c["sid"].(string), raw
}

func TestEndSessionBackchannel(t *testing.T) {
	a, b, d := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusBadRequest), newReceiver(t, http.StatusOK)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	s := newTestServer(t, Config{Clients: []Client{
		{ID: DefaultClientID, Secret: DefaultClientSecret, BackchannelLogoutURI: a.URL,
			PostLogoutRedirectURIs: []string{"http://rp.example/bye"}},
		{ID: "b", Secret: "b", BackchannelLogoutURI: b.URL},
		{ID: "c", Secret: "c"},                              // no back-channel logout
		{ID: "d", Secret: "d", BackchannelLogoutURI: d.URL}, // never logged in
		{ID: "e", Secret: "e", BackchannelLogoutURI: gone.URL + "/backchannel"},
	}})
	sessionID, hint := sid(t, s)
	for _, id := range []string{"b", "c", "e"} {
		f := newFlow(s)
		f.clientID, f.auth = id, basicAuth(id, id)
		_, _, c := f.idToken(t)
		wantEqual(t, id+"'s sid", c["sid"], sessionID)
	}

	resp, _ := endSession(t, s, url.Values{
		"id_token_hint":            {hint},
		"post_logout_redirect_uri": {"http://rp.example/bye"},
		"state":                    {"st 1"},
	})
	wantEqual(t, "status", resp.StatusCode, http.StatusFound)
	wantEqual(t, "Location", resp.Header.Get("Location"), "http://rp.example/bye?state=st+1")

	for _, tt := range []struct {
		rc       *receiver
		clientID string
		n        int
	}{{a, DefaultClientID, 1}, {b, "b", 1}, {d, "d", 0}} {
		reqs := tt.rc.requests()
		if len(reqs) != tt.n {
			t.Fatalf("%s got %d back-channel requests, want %d", tt.clientID, len(reqs), tt.n)
		}
		if tt.n == 1 {
			wantLogoutRequest(t, s, reqs[0], tt.clientID, "alice", sessionID)
		}
	}
	res := s.BackchannelResults()
	if len(res) != 3 {
		t.Fatalf("BackchannelResults() = %+v", res)
	}
	for i, want := range []BackchannelResult{
		{ClientID: "b", URI: b.URL, Status: 400},
		{ClientID: "e", URI: gone.URL + "/backchannel"},
		{ClientID: DefaultClientID, URI: a.URL, Status: 200},
	} {
		got := res[i]
		if got.ClientID != want.ClientID || got.URI != want.URI || got.Status != want.Status ||
			(got.Err != nil) != (want.Status == 0) {
			t.Errorf("result %d = %+v, want %+v", i, got, want)
		}
	}
	wantEqual(t, "Count(/end_session)", s.Count("/end_session"), 1)

	// The OP session is over: a second logout notifies nobody, and the next
	// login starts a new session.
	resp, body := endSession(t, s, url.Values{"id_token_hint": {hint}})
	wantEqual(t, "second logout status", resp.StatusCode, http.StatusOK)
	if !strings.Contains(string(body), "Signed out") {
		t.Errorf("body %q", body)
	}
	wantEqual(t, "results after the second logout", len(s.BackchannelResults()), 3)
	if next, _ := sid(t, s); next == sessionID {
		t.Error("the next login reused the ended session")
	}
	wantEqual(t, "Count(/end_session)", s.Count("/end_session"), 2)
}

func TestEndSessionAccepts(t *testing.T) {
	tests := []struct {
		name   string
		client Client
		setup  func(s *Server, clk *clock) // before the logout, after the login
		params func(hint string) url.Values
		status int
	}{
		{name: "expired hint", setup: func(s *Server, clk *clock) { clk.Add(24 * time.Hour) }, status: 302},
		{name: "hint signed with a rotated-out key", setup: func(s *Server, clk *clock) { s.RotateKey() }, status: 302},
		{name: "hint and matching client_id", params: func(h string) url.Values {
			return url.Values{"id_token_hint": {h}, "client_id": {DefaultClientID}}
		}, status: 200},
		{name: "client without registered URIs", client: Client{ID: DefaultClientID, Secret: DefaultClientSecret},
			params: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {"https://anywhere.example/x"}}
			}, status: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, http.StatusOK)
			c := Client{ID: DefaultClientID, Secret: DefaultClientSecret, PostLogoutRedirectURIs: []string{"http://rp.example/bye"}}
			if tt.client.ID != "" {
				c = tt.client
			}
			c.BackchannelLogoutURI = rc.URL
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			s := newTestServer(t, Config{Now: clk.Now, Clients: []Client{c}})
			sessionID, hint := sid(t, s)
			if tt.setup != nil {
				tt.setup(s, clk)
			}
			p := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://rp.example/bye"}}
			if tt.params != nil {
				p = tt.params(hint)
			}
			resp, _ := endSession(t, s, p)
			wantEqual(t, "status", resp.StatusCode, tt.status)
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d back-channel requests, want 1", len(reqs))
			}
			wantLogoutRequest(t, s, reqs[0], DefaultClientID, "alice", sessionID)
		})
	}
}

func TestEndSessionRefused(t *testing.T) {
	// token returns an ID token for the default client made while
	// misbehaving with b.
	token := func(b Behavior) func(t *testing.T, s *Server) string {
		return func(t *testing.T, s *Server) string {
			s.Misbehave(b)
			defer s.Misbehave()
			raw, _, _ := newFlow(s).idToken(t)
			return raw
		}
	}
	valid := func(t *testing.T, s *Server) string {
		_, raw := sid(t, s)
		return raw
	}
	tests := []struct {
		name   string
		hint   func(t *testing.T, s *Server) string
		params url.Values
	}{
		{name: "tampered hint", hint: func(t *testing.T, s *Server) string {
			raw := valid(t, s)
			return raw[:len(raw)-4] + strings.Map(func(r rune) rune { return r ^ 1 }, raw[len(raw)-4:])
		}},
		{name: "garbage hint", hint: func(*testing.T, *Server) string { return "not-a-jwt" }},
		{name: "hint signed by an unrelated key", hint: token(UnrelatedKey)},
		{name: "hint with the real kid and another key", hint: token(InvalidSignature)},
		{name: "unsigned hint", hint: token(AlgNone)},
		{name: "HS256 hint", hint: token(HS256PublicKey)},
		{name: "hint with another issuer", hint: token(WrongIssuer)},
		{name: "hint without sub", hint: token(MissingSub)},
		{name: "hint from another server", hint: func(t *testing.T, s *Server) string {
			return valid(t, newTestServer(t, Config{}))
		}},
		{name: "logout token as hint", hint: func(t *testing.T, s *Server) string {
			sessionID, _ := sid(t, s)
			raw, err := s.LogoutToken(DefaultClientID, "alice", sessionID, "")
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{name: "client_id other than the hint's", hint: valid, params: url.Values{"client_id": {"other"}}},
		{name: "unregistered post_logout_redirect_uri", hint: valid,
			params: url.Values{"post_logout_redirect_uri": {"http://rp.example/evil"}}},
		{name: "registered URI with extra query", hint: valid,
			params: url.Values{"post_logout_redirect_uri": {"http://rp.example/bye?x=1"}}},
		{name: "no hint, client_id, unregistered URI",
			params: url.Values{"client_id": {DefaultClientID}, "post_logout_redirect_uri": {"http://rp.example/evil"}}},
		{name: "no hint, javascript URI", params: url.Values{"post_logout_redirect_uri": {"javascript:alert(1)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, http.StatusOK)
			s := newTestServer(t, Config{Clients: []Client{
				{ID: DefaultClientID, Secret: DefaultClientSecret, BackchannelLogoutURI: rc.URL,
					PostLogoutRedirectURIs: []string{"http://rp.example/bye"}},
				{ID: "other", Secret: "x"},
			}})
			sessionID, _ := sid(t, s)
			p := url.Values{}
			if tt.hint != nil {
				p.Set("id_token_hint", tt.hint(t, s))
			}
			for k, v := range tt.params {
				p[k] = v
			}
			resp, body := endSession(t, s, p)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("got %d, Location %q, body %q; want a 400 page", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if n := len(rc.requests()); n != 0 {
				t.Errorf("%d back-channel requests", n)
			}
			if len(s.BackchannelResults()) != 0 {
				t.Errorf("BackchannelResults() = %v", s.BackchannelResults())
			}
			if next, _ := sid(t, s); next != sessionID {
				t.Error("the OP session ended")
			}
		})
	}
}

func TestEndSessionWithoutHintEndsNothing(t *testing.T) {
	rc := newReceiver(t, http.StatusOK)
	s := newTestServer(t, Config{Clients: []Client{{ID: DefaultClientID, Secret: DefaultClientSecret,
		BackchannelLogoutURI: rc.URL, PostLogoutRedirectURIs: []string{"http://rp.example/bye"}}}})
	sessionID, _ := sid(t, s)
	resp, _ := endSession(t, s, url.Values{"client_id": {DefaultClientID}, "post_logout_redirect_uri": {"http://rp.example/bye"}})
	wantEqual(t, "status", resp.StatusCode, http.StatusFound)
	wantEqual(t, "back-channel requests", len(rc.requests()), 0)
	if next, _ := sid(t, s); next != sessionID {
		t.Error("the OP session ended")
	}
}

func TestSendBackchannelLogout(t *testing.T) {
	rc := newReceiver(t, http.StatusBadRequest)
	s := newTestServer(t, Config{})
	tok, err := s.LogoutToken("rp", "alice", "sid-1", LogoutWithNonce)
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := s.SendBackchannelLogout(context.Background(), rc.URL, tok)
	if err != nil || status != http.StatusBadRequest || string(body) != "ok" {
		t.Fatalf("SendBackchannelLogout = %d, %q, %v", status, body, err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	wantEqual(t, "method", reqs[0].Method, http.MethodPost)
	wantEqual(t, "path", reqs[0].Path, "/backchannel")
	wantEqual(t, "Content-Type", reqs[0].Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	wantEqual(t, "logout_token", reqs[0].Form.Get("logout_token"), tok)
	if len(s.BackchannelResults()) != 0 {
		t.Error("a direct send was recorded")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.SendBackchannelLogout(ctx, rc.URL, tok); err == nil || !strings.HasPrefix(err.Error(), "oidctest: ") {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestBackchannelReleasedByClose(t *testing.T) {
	started := make(chan struct{})
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() // the connection is watched once the body is read
		close(started)
		<-r.Context().Done()
	}))
	defer rp.Close()
	s := NewServer(Config{Clients: []Client{{ID: DefaultClientID, Secret: DefaultClientSecret, BackchannelLogoutURI: rp.URL}}})
	_, hint := sid(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := s.Client().Get(s.URL + "/end_session?" + url.Values{"id_token_hint": {hint}}.Encode())
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	s.Close() // must not wait for the relying party
	<-done
	res := s.BackchannelResults()
	if len(res) != 1 || res[0].Err == nil || res[0].Status != 0 {
		t.Errorf("BackchannelResults() = %+v", res)
	}
}
