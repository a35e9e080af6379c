package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/oidcmw/oidcmw"
)

// The session lifecycle after login: the OP ends RP sessions server to
// server (back-channel logout), and the guard refreshes access tokens.

// TestInteropBackchannelLogout: three browsers are signed in at the RP.
// A and B share one OP session (B got A's OP cookies, as single sign-on
// would give it, and signs in at the RP without a password); C has an OP
// session of its own. A logs out at the RP and confirms at the OP; the OP
// POSTs a logout token with A's sid to the RP's back-channel endpoint,
// which must end B's RP session, and only the sessions of that sid: C, same
// user, other OP session, stays signed in.
func TestInteropBackchannelLogout(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{clientID: clientBackchannel, needs: []feature{featureBackchannelLogout, featureLogout}})
		a := newBrowserContext(t)
		ma := e.login(a, "/me", "judy")

		b := newBrowserContext(t)
		shareCookies(t, a, b, e.op.Issuer())
		navigate(t, b, e.rp+"/me")
		if _, steps := browse(t, b, e.op, "judy", at(e.rp+"/me")); len(steps) > 0 {
			t.Fatalf("B went through the OP's %v, want single sign-on on A's OP session", steps)
		}
		mb := e.me(b)

		c := newBrowserContext(t)
		mc := e.login(c, "/me", "judy")

		// The ID tokens carry the OP session's id: one for A and B, another
		// for C.
		sa, sb, sc := sid(t, ma), sid(t, mb), sid(t, mc)
		if sa == "" || sa != sb || sc == "" || sc == sa {
			t.Fatalf("ID token sid: A %q, B %q, C %q; want A = B, C another, none empty", sa, sb, sc)
		}
		for name, ctx := range map[string]context.Context{"A": a, "B": b, "C": c} {
			if status := fetchMe(t, ctx); status != http.StatusOK {
				t.Fatalf("%s before the logout: fetch /me status %d, want 200", name, status)
			}
		}
		if got := e.backchannelStatuses(); len(got) > 0 {
			t.Fatalf("back-channel requests before the logout: %v", got)
		}

		// A signs out with the RP's form and confirms at the OP, which
		// delivers the logout token before it redirects the browser.
		navigate(t, a, e.rp+"/public")
		if err := chromedp.Do(a, markSubmitted(), chromedp.Click(`#logout`)); err != nil {
			t.Fatal(err)
		}
		loc, steps := browse(t, a, e.op, "judy", under(e.rp+"/public"))
		if mustURL(t, loc).Path != "/public" || !slices.Equal(steps, []string{"logout"}) {
			t.Fatalf("after logout A landed on %s through %v, want /public through the OP's logout page", loc, steps)
		}
		if got := e.backchannelStatuses(); !slices.Equal(got, []int{http.StatusOK}) {
			t.Fatalf("back-channel endpoint answered %v, want one request with 200", got)
		}

		// B's RP session is gone: an API call gets 401, a navigation goes
		// to the OP, whose session ended too, so it asks for the password.
		if status := fetchMe(t, b); status != http.StatusUnauthorized {
			t.Errorf("B after the logout: fetch /me status %d, want 401", status)
		} else if err := e.lastErr(); !errors.Is(err, oidcmw.ErrUnauthenticated) {
			t.Errorf("B after the logout: middleware reported %v, want ErrUnauthenticated", err)
		}
		navigate(t, b, e.rp+"/me")
		if loc, kind, err := where(b, e.op); err != nil || kind != "login" || !strings.HasPrefix(loc, e.op.Issuer()+"/") {
			t.Errorf("B after the logout: /me ended on %s (page %q, %v), want the OP's login form", loc, kind, err)
		}
		// C, another OP session of the same user, is untouched.
		if status := fetchMe(t, c); status != http.StatusOK {
			t.Errorf("C after the logout: fetch /me status %d, want 200 (its sid %q was not logged out)", status, sc)
		}
	})
}

// TestInteropRefresh: with offline_access (and the prompt=consent the
// middleware adds) the OP issues a refresh token. The access tokens live
// less than Options.RefreshMargin, so every guarded request refreshes: the
// landing after login is the first refresh, the next /me the second. The
// second proves the RP kept the rotated refresh token: both OPs consume a
// refresh token when they rotate it, and the RP presents the new one.
func TestInteropRefresh(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{clientID: clientOffline, needs: []feature{featureRefresh}, recordGrants: true,
			opts: func(o *oidcmw.Options) {
				o.Scopes = []string{"openid", "offline_access"}
				// Longer than the OPs' access tokens live (60 s at
				// oidc-provider, 5 minutes at zitadel): no sleeping.
				o.RefreshMargin = 10 * time.Minute
			}})
		ctx := newBrowserContext(t)
		navigate(t, ctx, e.rp+"/me")
		_, steps := browse(t, ctx, e.op, "kim", at(e.rp+"/me"))
		want := []string{"login"}
		if e.op.ui().consent != "" { // prompt=consent: the OP asks even on a first login
			want = append(want, "consent")
		}
		if !slices.Equal(steps, want) {
			t.Fatalf("login went through %v, want %v", steps, want)
		}
		first := e.me(ctx)
		navigate(t, ctx, e.rp+"/me")
		second := e.me(ctx)

		gs := e.grants.list()
		for i, g := range gs {
			t.Logf("grant %d: %s", i, g)
		}
		if len(gs) != 3 || gs[0].typ != "authorization_code" || gs[1].typ != "refresh_token" || gs[2].typ != "refresh_token" {
			t.Fatalf("token endpoint saw %d grants, want authorization_code, then refresh_token twice", len(gs))
		}
		for i, g := range gs {
			if g.status != http.StatusOK || g.accessToken == "" || g.refreshToken == "" {
				t.Fatalf("grant %d (%s): status %d, access token %q, refresh token %q; want 200 with both",
					i, g.typ, g.status, g.accessToken, g.refreshToken)
			}
		}
		// Each refresh presents the refresh token of the answer before it:
		// the one from the code, then the rotated one.
		if gs[1].sent != gs[0].refreshToken || gs[2].sent != gs[1].refreshToken {
			t.Errorf("refresh tokens presented %s, %s; want those issued before: %s, %s",
				gs[1].sent, gs[2].sent, gs[0].refreshToken, gs[1].refreshToken)
		}
		if gs[1].refreshToken == gs[0].refreshToken || gs[2].refreshToken == gs[1].refreshToken {
			t.Errorf("the OP did not rotate the refresh token: %s, %s, %s",
				gs[0].refreshToken, gs[1].refreshToken, gs[2].refreshToken)
		}

		// What the application sees: a new access token on each request,
		// and the refresh count, for the same user.
		if first.Refreshes != 1 || first.AccessToken != gs[1].accessToken || first.AccessToken == gs[0].accessToken {
			t.Errorf("landing after login: %d refreshes, access token %s; want 1 and %s (the code's was %s)",
				first.Refreshes, first.AccessToken, gs[1].accessToken, gs[0].accessToken)
		}
		if second.Refreshes != 2 || second.AccessToken != gs[2].accessToken || second.AccessToken == first.AccessToken ||
			second.RefreshToken != gs[2].refreshToken {
			t.Errorf("second /me: %d refreshes, access token %s, refresh token %s; want 2, %s, %s",
				second.Refreshes, second.AccessToken, second.RefreshToken, gs[2].accessToken, gs[2].refreshToken)
		}
		if first.Subject != e.op.account("kim").subject || second.Subject != first.Subject {
			t.Errorf("subjects %q, %q; want %q", first.Subject, second.Subject, e.op.account("kim").subject)
		}
	})
}

// sid is the sid claim of the ID token /me showed.
func sid(t *testing.T, m meResponse) string {
	t.Helper()
	var c struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(m.Claims, &c); err != nil {
		t.Fatalf("claims %s: %v", m.Claims, err)
	}
	return c.Sid
}

// fetchMe calls /me from the tab's current RP page as an API client
// (fetch, Accept: application/json) and returns the status.
func fetchMe(t *testing.T, ctx context.Context) int {
	t.Helper()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`fetch('/me', {headers: {Accept: 'application/json'}}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch /me: %v", err)
	}
	return status
}

// shareCookies copies the cookies the browser context of from holds for
// the OP at issuer into the browser context of to, as if to had signed in
// at the OP itself. Cookies do not tell ports apart, so those of the RP
// (also at 127.0.0.1) are left out by name.
func shareCookies(t *testing.T, from, to context.Context, issuer string) {
	t.Helper()
	res, err := chromedp.Call(from, network.GetCookies, network.GetCookiesParams{URLs: []string{issuer + "/"}})
	if err != nil {
		t.Fatalf("get the OP's cookies: %v", err)
	}
	var params []*network.CookieParam
	for _, c := range res.Cookies {
		if strings.HasPrefix(c.Name, "oidcmw") { // the RP's session and login cookies
			continue
		}
		p := &network.CookieParam{
			Name: c.Name, Value: c.Value, URL: issuer + c.Path, Path: c.Path,
			Secure: c.Secure, HTTPOnly: c.HTTPOnly, SameSite: c.SameSite,
		}
		if !c.Session {
			p.Expires = cdp.TimeSinceEpoch(c.Expires)
		}
		params = append(params, p)
	}
	if len(params) == 0 {
		t.Fatalf("the browser holds no cookie of the OP at %s", issuer)
	}
	if _, err := chromedp.Call(to, network.SetCookies, network.SetCookiesParams{Cookies: params}); err != nil {
		t.Fatalf("set the OP's cookies: %v", err)
	}
}

// grantRecorder is the RP's HTTP client transport in cases that watch the
// token endpoint: it records each grant the RP sends and the OP's answer,
// as fingerprints of the tokens, never the tokens.
type grantRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	grants []grant
}

// grant is one token endpoint request and its answer.
type grant struct {
	typ          string // grant_type
	sent         string // the refresh_token presented, a fingerprint
	status       int
	accessToken  string // the access_token returned, a fingerprint
	refreshToken string // the refresh_token returned, a fingerprint
}

func (g grant) String() string {
	return fmt.Sprintf("%s presenting refresh token %q: status %d, access token %q, refresh token %q",
		g.typ, g.sent, g.status, g.accessToken, g.refreshToken)
}

// RoundTrip passes req on; a form POST with a grant_type is recorded with
// its answer. It reads both bodies and hands on copies.
func (g *grantRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil {
		return g.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	if !form.Has("grant_type") {
		return g.next.RoundTrip(req)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(rb, &tr) // an error answer has neither
	g.mu.Lock()
	g.grants = append(g.grants, grant{
		typ: form.Get("grant_type"), sent: fingerprint(form.Get("refresh_token")), status: resp.StatusCode,
		accessToken: fingerprint(tr.AccessToken), refreshToken: fingerprint(tr.RefreshToken),
	})
	g.mu.Unlock()
	return resp, nil
}

// list returns the grants recorded so far, in order.
func (g *grantRecorder) list() []grant {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.grants)
}

// count returns how many grants of type typ were sent.
func (g *grantRecorder) count(typ string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, x := range g.grants {
		if x.typ == typ {
			n++
		}
	}
	return n
}

// fingerprint names a token without revealing it: the first 12 hex digits
// of its SHA-256, "" for no token.
func fingerprint(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}
