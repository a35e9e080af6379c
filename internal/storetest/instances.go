package storetest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// RunInstances runs two instances of an app, each with a store from
// newStore, behind a round-robin balancer in front of one oidctest
// provider, and checks what sharing a store must give them: a login
// completes across instances and its callback is redeemed once, sessions
// never cross, a refresh happens once, and a logout (RP-initiated or
// back-channel) on one instance ends the session on both. settle is how
// long a change made through one instance may take to reach the other
// (zero for a store without a cache).
func RunInstances(t *testing.T, newStore func(*testing.T) oidcmw.Store, settle time.Duration) {
	t.Helper()
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, func(*testing.T) oidcmw.Store, time.Duration)
	}{
		{"TwoInstances", twoInstances},
		{"ConcurrentLogins", concurrentLogins},
		{"RefreshOnce", refreshOnce},
		{"BackchannelLogout", backchannelLogout},
		{"LogoutDuringRefresh", logoutDuringRefresh},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore, settle) })
	}
}

// cluster is two app instances sharing one Redis behind a round-robin
// balancer, in front of one provider.
type cluster struct {
	op    *oidctest.Server
	lb    *httptest.Server
	clock *Clock // of the provider and both instances
}

func newCluster(t *testing.T, newStore func(*testing.T) oidcmw.Store, cfg oidctest.Config, opts ...func(*oidcmw.Options)) *cluster {
	t.Helper()
	clk := NewClock(time.Now())
	cfg.Now = clk.Now
	op := oidctest.NewServer(cfg)
	t.Cleanup(op.Close)
	var instances [2]http.Handler
	var next atomic.Uint32
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		instances[next.Add(1)%2].ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	for i := range instances {
		o := oidcmw.Options{
			Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
			RedirectURL: lb.URL + "/auth/callback",
			Store:       newStore(t),
			SecretKeys:  [][]byte{[]byte(strings.Repeat("k", 32))},
			LoginParams: []string{"login_hint"},
			Now:         clk.Now,
		}
		for _, f := range opts {
			f(&o)
		}
		m, err := oidcmw.New(o)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/auth/callback", m.Callback)
		mux.HandleFunc("/auth/login", m.Login)
		mux.HandleFunc("POST /auth/logout", m.Logout)
		mux.HandleFunc("POST /auth/backchannel-logout", m.BackchannelLogout)
		mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := oidcmw.FromContext(r.Context())
			io.WriteString(w, id.Subject)
		})))
		instances[i] = mux
	}
	return &cluster{op: op, lb: lb, clock: clk}
}

// login signs a new browser in as sub and returns it.
func (cl *cluster) login(t *testing.T, sub string) *http.Client {
	t.Helper()
	b := browser()
	u := cl.lb.URL + "/auth/login?return_to=/me&login_hint=" + sub
	for hop := 0; hop < 3; hop++ { // login, provider, callback
		resp, _, err := send(b, http.MethodGet, u)
		if err != nil {
			t.Fatal(err)
		}
		if u = resp.Header.Get("Location"); strings.HasPrefix(u, "/") {
			u = cl.lb.URL + u
		}
	}
	return b
}

// status is what /me answers an API call of b.
func (cl *cluster) status(b *http.Client) int {
	resp, _, err := send(b, http.MethodGet, cl.lb.URL+"/me", "Accept", "application/json")
	if err != nil {
		return 0
	}
	return resp.StatusCode
}

// browser is a cookie jar client that does not follow redirects.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func send(c *http.Client, method, u string, hdr ...string) (*http.Response, string, error) {
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

// twoInstances: a login started on one instance completes on the other,
// both serve the session, a callback delivered to both at once is redeemed
// once, and logout on one ends the session on both.
func twoInstances(t *testing.T, newStore func(*testing.T) oidcmw.Store, settle time.Duration) {
	cl := newCluster(t, newStore, oidctest.Config{})
	b := browser()
	resp, _, err := send(b, http.MethodGet, cl.lb.URL+"/me") // instance A
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err = send(b, http.MethodGet, resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	callback := resp.Header.Get("Location")

	var wg sync.WaitGroup
	var wins atomic.Int32
	for range 2 {
		wg.Go(func() {
			if resp, _, err := send(b, http.MethodGet, callback); err == nil && resp.StatusCode == http.StatusSeeOther {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d callbacks succeeded, want exactly 1", wins.Load())
	}
	for range 4 { // alternates between the instances
		if resp, _, _ := send(b, http.MethodGet, cl.lb.URL+"/me"); resp.StatusCode != http.StatusOK {
			t.Fatalf("/me on a second instance: %d", resp.StatusCode)
		}
	}
	if resp, _, _ := send(b, http.MethodPost, cl.lb.URL+"/auth/logout", "Origin", cl.lb.URL); !loggedOut(resp) {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	time.Sleep(settle)
	for range 2 {
		if resp, _, _ := send(b, http.MethodGet, cl.lb.URL+"/me", "Accept", "application/json"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/me after logout: %d", resp.StatusCode)
		}
	}
}

// concurrentLogins logs in 100 users at once through two instances and
// checks that no session is lost or crossed: each browser sees its own sub
// on both instances.
func concurrentLogins(t *testing.T, newStore func(*testing.T) oidcmw.Store, _ time.Duration) {
	const users = 100
	cl := newCluster(t, newStore, oidctest.Config{LoginHintSelectsUser: true})
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for i := range users {
		wg.Go(func() {
			sub := fmt.Sprintf("user-%03d", i)
			b := browser()
			u := cl.lb.URL + "/auth/login?return_to=/me&login_hint=" + sub
			for hop := 0; hop < 3; hop++ { // login, provider, callback
				resp, _, err := send(b, http.MethodGet, u)
				if err != nil {
					errs <- err
					return
				}
				if u = resp.Header.Get("Location"); strings.HasPrefix(u, "/") {
					u = cl.lb.URL + u
				}
			}
			for range 4 {
				resp, body, err := send(b, http.MethodGet, cl.lb.URL+"/me")
				if err != nil || resp.StatusCode != http.StatusOK || body != sub {
					errs <- fmt.Errorf("%s sees %d %q (%v)", sub, resp.StatusCode, body, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// refreshOnce: requests on both instances at expiry refresh once (the
// lease is Store.Add), and the rotated refresh token is kept, so the next
// refresh works.
func refreshOnce(t *testing.T, newStore func(*testing.T) oidcmw.Store, settle time.Duration) {
	cl := newCluster(t, newStore, oidctest.Config{RotateRefreshTokens: true})
	b := cl.login(t, "alice")
	cl.clock.Advance(time.Hour - 10*time.Second)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if s := cl.status(b); s != http.StatusOK {
				t.Errorf("/me at expiry: %d", s)
			}
		})
	}
	wg.Wait()
	refreshes := func() int {
		n := 0
		for _, r := range cl.op.Requests() {
			if r.Path == "/token" && r.Form.Get("grant_type") == "refresh_token" {
				n++
			}
		}
		return n
	}
	if n := refreshes(); n != 1 {
		t.Fatalf("%d refresh grants across two instances, want 1", n)
	}
	time.Sleep(settle)
	cl.clock.Advance(time.Hour)
	if s := cl.status(b); s != http.StatusOK || refreshes() != 2 {
		t.Fatalf("second refresh: %d, %d grants", s, refreshes())
	}
}

// backchannelLogout: a logout token delivered to one instance ends the
// sessions of its sid on both (the sid index lives in the store), and its
// jti is remembered across instances.
func backchannelLogout(t *testing.T, newStore func(*testing.T) oidcmw.Store, settle time.Duration) {
	cl := newCluster(t, newStore, oidctest.Config{LoginHintSelectsUser: true})
	alice, bob := cl.login(t, "alice"), cl.login(t, "bob")
	token, err := cl.op.LogoutToken(oidctest.DefaultClientID, "alice", "", "")
	if err != nil {
		t.Fatal(err)
	}
	post := func() int {
		resp, err := http.PostForm(cl.lb.URL+"/auth/backchannel-logout", url.Values{"logout_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(); s != http.StatusOK {
		t.Fatalf("logout token: %d", s)
	}
	time.Sleep(settle)
	for range 2 { // both instances
		if s := cl.status(alice); s != http.StatusUnauthorized {
			t.Fatalf("alice after back-channel logout: %d", s)
		}
		if s := cl.status(bob); s != http.StatusOK {
			t.Fatalf("bob after alice's back-channel logout: %d", s)
		}
	}
	if s := post(); s != http.StatusBadRequest { // the other instance this time
		t.Fatalf("replayed logout token: %d", s)
	}
}

// loggedOut: a logout's answer, the page that posts the end-session
// request to the provider (200) or a redirect (303).
func loggedOut(resp *http.Response) bool {
	return resp != nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusSeeOther)
}

// refreshGate holds the first refresh grant sent through it until release
// is closed, and closes arrived when it comes.
type refreshGate struct {
	arrived, release chan struct{}
	once             sync.Once
}

func (g *refreshGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), "grant_type=refresh_token") {
			first := false
			g.once.Do(func() { first = true; close(g.arrived) })
			if first {
				<-g.release
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// logoutDuringRefresh: a logout on one instance while the other is
// refreshing the session wins: when the refresh completes, it does not
// write the session back, and the old cookie is refused on both.
func logoutDuringRefresh(t *testing.T, newStore func(*testing.T) oidcmw.Store, settle time.Duration) {
	gate := &refreshGate{arrived: make(chan struct{}), release: make(chan struct{})}
	cl := newCluster(t, newStore, oidctest.Config{}, func(o *oidcmw.Options) {
		o.HTTPClient = &http.Client{Transport: gate, Timeout: 10 * time.Second}
	})
	b := cl.login(t, "alice")
	u, _ := url.Parse(cl.lb.URL)
	old := b.Jar.Cookies(u)
	cl.clock.Advance(time.Hour - 30*time.Second) // inside the refresh margin
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl.status(b) // starts the refresh, held at the provider
	}()
	select {
	case <-gate.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no refresh started")
	}
	resp, _, err := send(b, http.MethodPost, cl.lb.URL+"/auth/logout", "Origin", cl.lb.URL)
	close(gate.release)
	if err != nil || !loggedOut(resp) {
		t.Fatalf("logout during the refresh: %v %v", resp, err)
	}
	<-done
	time.Sleep(settle)
	replay := browser()
	replay.Jar.SetCookies(u, old)
	for range 2 { // both instances
		if got := cl.status(replay); got != http.StatusUnauthorized {
			t.Fatalf("the old cookie after logout and the refresh: %d, want 401", got)
		}
	}
}
