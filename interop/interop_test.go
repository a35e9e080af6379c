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
// each OP of opKinds, as a subtest per OP (TestInteropX/oidc-provider,
// TestInteropX/zitadel). They run one after another (no t.Parallel): two
// cores, one browser.

func TestInteropClientSecretBasic(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{clientID: clientBasic})
		ctx := newBrowserContext(t)
		m := e.login(ctx, "/me", "alice")
		// Both OPs conform to OpenID Connect Core §5.4: with the code flow
		// the ID token carries sub but not the scopes' claims (email,
		// name), which only the UserInfo endpoint returns. aud is a string
		// (oidc-provider) or an array (zitadel), §2.
		var c struct {
			Sub string          `json:"sub"`
			Aud json.RawMessage `json:"aud"`
			Iss string          `json:"iss"`
		}
		if err := json.Unmarshal(m.Claims, &c); err != nil || c.Sub != e.op.account("alice").subject ||
			!audHas(c.Aud, clientBasic) || c.Iss != e.op.Issuer() {
			t.Errorf("claims %s: %v", m.Claims, err)
		}
	})
}

// audHas reports whether the aud claim, a string or an array of strings,
// holds clientID.
func audHas(aud json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == clientID
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && slices.Contains(many, clientID)
}

func TestInteropClientSecretPost(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{clientID: clientPost, needs: []feature{featureClientSecretPost}, opts: func(o *oidcmw.Options) {
			o.ClientAuthMethod = "client_secret_post"
		}})
		e.login(newBrowserContext(t), "/me", "bob")
	})
}

func TestInteropPublicClientPKCE(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		// No ClientSecret: method none.
		e := newEnv(t, k, setup{clientID: clientPublic, needs: []feature{featurePublicClient}})
		e.login(newBrowserContext(t), "/me", "carol")
	})
}

func TestInteropSigningAlgs(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
			t.Run(alg, func(t *testing.T) {
				// The RP is configured the same for every algorithm; only
				// the client registered at the OP differs.
				e := newEnv(t, k, setup{clientID: algClients[alg], needs: []feature{featureAlg(alg)}})
				m := e.login(newBrowserContext(t), "/me", "dave")
				if kids := e.op.Kids(); m.Alg != alg || !slices.Contains(kids, m.Kid) {
					t.Errorf("ID token header alg %q kid %q, want alg %s and a kid of %v", m.Alg, m.Kid, alg, kids)
				}
			})
		}
	})
}

// The OP POSTs the authorization response from 127.0.0.1 to the RP at
// localhost: a cross-site POST that carries only SameSite=None cookies.
func TestInteropFormPostCrossSite(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{host: "localhost", needs: []feature{featureFormPost}, opts: func(o *oidcmw.Options) {
			o.ResponseMode = "form_post"
		}})
		if !strings.HasPrefix(e.rp, "http://localhost:") || !strings.HasPrefix(e.op.Issuer(), "http://127.0.0.1:") {
			t.Fatalf("RP %s and OP %s must be different sites", e.rp, e.op.Issuer())
		}
		e.login(newBrowserContext(t), "/me?x=1", "erin")
	})
}

func TestInteropReturnTo(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{})
		t.Run("guarded page", func(t *testing.T) {
			ctx := newBrowserContext(t)
			e.t = t
			e.login(ctx, "/me?x=1", "frank")
		})
		t.Run("foreign return_to", func(t *testing.T) {
			ctx := newBrowserContext(t)
			e.t = t
			navigate(t, ctx, e.rp+"/auth/login?return_to=//evil.com")
			browse(t, ctx, e.op, "frank", under(e.rp+"/"))
			loc, _, _ := where(ctx, e.op)
			if loc != e.rp+"/" {
				t.Fatalf("landed on %s, want %s/", loc, e.rp)
			}
			if m := e.me(ctx); m.Subject != e.op.account("frank").subject || m.Path != "/" {
				t.Errorf("after login: %+v", m)
			}
		})
	})
}

func TestInteropAPIvsBrowser(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{})
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
		if loc := navigate(t, ctx, e.rp+"/me"); !strings.HasPrefix(loc, e.op.Issuer()+"/") {
			t.Errorf("navigation to /me ended on %s, want the OP at %s", loc, e.op.Issuer())
		}
	})
}

func TestInteropTwoTabs(t *testing.T) {
	eachOP(t, testTwoTabs)
}

func testTwoTabs(t *testing.T, k opKind) {
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
	e := newEnv(t, k, setup{wrap: starts})
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
		if loc, _, _ := where(tab.ctx, e.op); !strings.HasPrefix(loc, e.op.Issuer()+"/") {
			t.Fatalf("tab %d: %s led to %s, want the OP", i+1, tab.path, loc)
		}
	}

	// Then each completes its login and lands where it started.
	sub := e.op.account("ivan").subject
	for i, tab := range tabs {
		browse(t, tab.ctx, e.op, "ivan", at(e.rp+tab.path))
		if m := e.me(tab.ctx); m.Subject != sub || m.Path != tab.path {
			t.Errorf("tab %d: %+v, want %s at %s", i+1, m, sub, tab.path)
		}
	}
}

func TestInteropKeyRotation(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{needs: []feature{featureKeyRotation}})
		first := e.login(newBrowserContext(t), "/me", "grace")
		oldKids := e.op.Kids()
		ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
		defer cancel()
		newKids, err := e.op.rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(newKids, func(k string) bool { return slices.Contains(oldKids, k) }) {
			t.Fatalf("rotation kept a key: old %v, new %v", oldKids, newKids)
		}
		// A fresh browser context: a new login, whose ID token the new key
		// signs.
		second := e.login(newBrowserContext(t), "/me", "grace")
		if second.Kid == first.Kid || !slices.Contains(newKids, second.Kid) {
			t.Errorf("second ID token kid %q, want one of the new keys %v (first was %q)", second.Kid, newKids, first.Kid)
		}
	})
}

func TestInteropLogout(t *testing.T) {
	eachOP(t, func(t *testing.T, k opKind) {
		e := newEnv(t, k, setup{needs: []feature{featureLogout}})
		ctx := newBrowserContext(t)
		e.login(ctx, "/me", "heidi")

		// Sign out with the RP's own form (a same-origin POST); confirm at
		// the OP's end_session page; land on post_logout_redirect_uri.
		navigate(t, ctx, e.rp+"/public")
		if err := chromedp.Do(ctx, markSubmitted(), chromedp.Click(`#logout`)); err != nil {
			t.Fatal(err)
		}
		loc, steps := browse(t, ctx, e.op, "heidi", under(e.rp+"/public"))
		if mustURL(t, loc).Path != "/public" || !slices.Equal(steps, []string{"logout"}) {
			t.Fatalf("after logout landed on %s through %v, want /public through the OP's logout page", loc, steps)
		}
		// Both sessions are gone: /me starts a new login, and the OP asks
		// for the password again.
		navigate(t, ctx, e.rp+"/me")
		if loc, kind, err := where(ctx, e.op); err != nil || kind != "login" || !strings.HasPrefix(loc, e.op.Issuer()+"/") {
			t.Errorf("after logout /me ended on %s (page %q, %v), want the OP's login form", loc, kind, err)
		}
	})
}
