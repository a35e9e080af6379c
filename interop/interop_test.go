package interop

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oidcmw/oidcmw"
)

// Each test is one interop case: Chromium logs in through the middleware at
// oidc-provider. They run one after another (no t.Parallel): two cores, one
// browser.

func TestInteropClientSecretBasic(t *testing.T) {
	e := newEnv(t, setup{clientID: clientBasic})
	ctx := newBrowserContext(t)
	m := e.login(ctx, "/me", "alice")
	// oidc-provider conforms to OpenID Connect Core §5.4: with the code flow
	// the ID token carries sub but not the scopes' claims (email, name),
	// which only the UserInfo endpoint returns.
	var c struct {
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(m.Claims, &c); err != nil || c.Sub != "alice" || c.Aud != clientBasic || c.Iss != e.op.Issuer {
		t.Errorf("claims %s: %v", m.Claims, err)
	}
}

func TestInteropClientSecretPost(t *testing.T) {
	e := newEnv(t, setup{clientID: clientPost, opts: func(o *oidcmw.Options) {
		o.ClientAuthMethod = "client_secret_post"
	}})
	e.login(newBrowserContext(t), "/me", "bob")
}

func TestInteropPublicClientPKCE(t *testing.T) {
	e := newEnv(t, setup{clientID: clientPublic}) // no ClientSecret: method none
	e.login(newBrowserContext(t), "/me", "carol")
}

func TestInteropSigningAlgs(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			// The RP is configured the same for every algorithm; only the
			// client registered at the OP differs.
			e := newEnv(t, setup{clientID: algClients[alg]})
			m := e.login(newBrowserContext(t), "/me", "dave")
			if m.Alg != alg || !slices.Contains(e.op.Kids, m.Kid) {
				t.Errorf("ID token header alg %q kid %q, want alg %s and a kid of %v", m.Alg, m.Kid, alg, e.op.Kids)
			}
		})
	}
}

// The OP POSTs the authorization response from 127.0.0.1 to the RP at
// localhost: a cross-site POST that carries only SameSite=None cookies.
func TestInteropFormPostCrossSite(t *testing.T) {
	e := newEnv(t, setup{host: "localhost", opts: func(o *oidcmw.Options) {
		o.ResponseMode = "form_post"
	}})
	if !strings.HasPrefix(e.rp, "http://localhost:") || !strings.HasPrefix(e.op.Issuer, "http://127.0.0.1:") {
		t.Fatalf("RP %s and OP %s must be different sites", e.rp, e.op.Issuer)
	}
	e.login(newBrowserContext(t), "/me?x=1", "erin")
}

func TestInteropReturnTo(t *testing.T) {
	e := newEnv(t, setup{})
	t.Run("guarded page", func(t *testing.T) {
		ctx := newBrowserContext(t)
		e.t = t
		e.login(ctx, "/me?x=1", "frank")
	})
	t.Run("foreign return_to", func(t *testing.T) {
		ctx := newBrowserContext(t)
		e.t = t
		navigate(t, ctx, e.rp+"/auth/login?return_to=//evil.com")
		browse(t, ctx, "frank", under(e.rp+"/"))
		loc, _, _ := where(ctx)
		if loc != e.rp+"/" {
			t.Fatalf("landed on %s, want %s/", loc, e.rp)
		}
		if m := e.me(ctx); m.Subject != "frank" || m.Path != "/" {
			t.Errorf("after login: %+v", m)
		}
	})
}

func TestInteropAPIvsBrowser(t *testing.T) {
	e := newEnv(t, setup{})
	ctx := newBrowserContext(t)
	navigate(t, ctx, e.rp+"/public")
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`fetch('/me', {headers: {Accept: 'application/json'}}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != 401 {
		t.Errorf("fetch /me without session: status %d, want 401", status)
	}
	if err := e.lastErr(); !errors.Is(err, oidcmw.ErrUnauthenticated) {
		t.Errorf("middleware reported %v, want ErrUnauthenticated", err)
	}
	if loc := navigate(t, ctx, e.rp+"/me"); !strings.HasPrefix(loc, e.op.Issuer+"/") {
		t.Errorf("navigation to /me ended on %s, want the OP at %s", loc, e.op.Issuer)
	}
}

func TestInteropTwoTabs(t *testing.T) {
	// The RP holds the first request of each tab until both have arrived,
	// so that both logins start in a browser that has no cookie of the RP
	// yet, as when a browser restores two tabs at once.
	var (
		mu     sync.Mutex
		held   int
		both   = make(chan struct{})
		starts = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/me" && r.URL.Query().Has("tab") {
					mu.Lock()
					held++
					first := held <= 2
					if held == 2 {
						close(both)
					}
					mu.Unlock()
					if first {
						select {
						case <-both:
						case <-r.Context().Done():
							return
						}
					}
				}
				next.ServeHTTP(w, r)
			})
		}
	)
	e := newEnv(t, setup{wrap: starts})
	tab1 := newBrowserContext(t)
	tab2 := newTab(t, tab1) // same browser context: shares cookies with tab1
	tabs := []struct {
		ctx  context.Context
		path string
	}{{tab1, "/me?tab=1"}, {tab2, "/me?tab=2"}}

	// Both start a login at once; both wait at the OP before either signs in.
	var wg sync.WaitGroup
	errs := make([]error, len(tabs))
	for i, tab := range tabs {
		wg.Go(func() { errs[i] = chromedp.Do(tab.ctx, chromedp.Navigate(e.rp+tab.path)) })
	}
	wg.Wait()
	for i, tab := range tabs {
		if errs[i] != nil {
			t.Fatalf("tab %d: navigate %s: %v", i+1, tab.path, errs[i])
		}
		if loc, _, _ := where(tab.ctx); !strings.HasPrefix(loc, e.op.Issuer+"/") {
			t.Fatalf("tab %d: %s led to %s, want the OP", i+1, tab.path, loc)
		}
	}

	// Then each completes its login and lands where it started.
	for i, tab := range tabs {
		browse(t, tab.ctx, "ivan", at(e.rp+tab.path))
		if m := e.me(tab.ctx); m.Subject != "ivan" || m.Path != tab.path {
			t.Errorf("tab %d: %+v, want ivan at %s", i+1, m, tab.path)
		}
	}
}

func TestInteropKeyRotation(t *testing.T) {
	e := newEnv(t, setup{})
	first := e.login(newBrowserContext(t), "/me", "grace")
	oldKids := e.op.Kids
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	newKids, err := e.op.rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(newKids, func(k string) bool { return slices.Contains(oldKids, k) }) {
		t.Fatalf("rotation kept a key: old %v, new %v", oldKids, newKids)
	}
	// A fresh browser context: a new login, whose ID token the new key signs.
	second := e.login(newBrowserContext(t), "/me", "grace")
	if second.Kid == first.Kid || !slices.Contains(newKids, second.Kid) {
		t.Errorf("second ID token kid %q, want one of the new keys %v (first was %q)", second.Kid, newKids, first.Kid)
	}
}

func TestInteropLogout(t *testing.T) {
	e := newEnv(t, setup{})
	ctx := newBrowserContext(t)
	e.login(ctx, "/me", "heidi")

	// Sign out with the RP's own form (a same-origin POST); confirm at the
	// OP's end_session page; land on post_logout_redirect_uri.
	navigate(t, ctx, e.rp+"/public")
	if err := chromedp.Do(ctx, markSubmitted(), chromedp.Click(`#logout`)); err != nil {
		t.Fatal(err)
	}
	loc, steps := browse(t, ctx, "heidi", under(e.rp+"/public"))
	if mustURL(t, loc).Path != "/public" || !slices.Equal(steps, []string{"logout"}) {
		t.Fatalf("after logout landed on %s through %v, want /public through the OP's logout page", loc, steps)
	}
	// Both sessions are gone: /me starts a new login, and the OP asks for
	// the password again.
	navigate(t, ctx, e.rp+"/me")
	if loc, kind, err := where(ctx); err != nil || kind != "login" || !strings.HasPrefix(loc, e.op.Issuer+"/") {
		t.Errorf("after logout /me ended on %s (page %q, %v), want the OP's login form", loc, kind, err)
	}
}
