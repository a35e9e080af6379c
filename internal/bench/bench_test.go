package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/oidctest"
)

// BenchmarkGuard measures one authenticated request through each
// middleware, in process: ServeHTTP with a recorder and a prepared request
// that carries the session cookie. The baseline impl=nethttp is the bare
// handler.
func BenchmarkGuard(b *testing.B) {
	b.Run("impl=nethttp", func(b *testing.B) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		})
		benchGuard(b, h, httptest.NewRequest(http.MethodGet, protectedPath, nil), "ok")
	})

	b.Run("impl=scs", func(b *testing.B) {
		sm := scs.New()
		sm.Store = memstore.New()
		// Sign in: a session holding "user", as an app's login handler
		// would leave it.
		rec := httptest.NewRecorder()
		sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "user", "alice")
		})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			b.Fatalf("scs set %d cookies, want 1", len(cookies))
		}
		req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
		req.AddCookie(cookies[0])
		h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, sm.GetString(r.Context(), "user"))
		}))
		benchGuard(b, h, req, "alice")
	})

	variants := []struct {
		impl string
		opts func(b *testing.B) oidcmw.Options
	}{
		{"oidcmw", func(*testing.B) oidcmw.Options { return oidcmw.Options{} }},
		{"oidcmw-sealed", func(*testing.B) oidcmw.Options {
			return oidcmw.Options{SecretKeys: [][]byte{[]byte(strings.Repeat("k", 32))}}
		}},
		{"oidcmw-redis", func(b *testing.B) oidcmw.Options {
			return oidcmw.Options{Store: redisStore(b)}
		}},
	}
	for _, v := range variants {
		b.Run("impl="+v.impl, func(b *testing.B) {
			app, cookie := signedInOIDCMW(b, oidctest.Config{}, v.opts(b))
			req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
			req.AddCookie(cookie)
			benchGuard(b, app.m.Guard(http.HandlerFunc(greet)), req, "hello alice")
		})
	}
}

// redisStore connects to OIDCMW_TEST_REDIS_URL, or skips the benchmark.
func redisStore(b *testing.B) oidcmw.Store {
	u := os.Getenv("OIDCMW_TEST_REDIS_URL")
	if u == "" {
		b.Skip("set OIDCMW_TEST_REDIS_URL to benchmark the Redis store")
	}
	o, err := redis.ParseURL(u)
	if err != nil {
		b.Fatal(err)
	}
	c := redis.NewClient(o)
	b.Cleanup(func() { c.Close() })
	return redisstore.New(c)
}

// BenchmarkGuardSessions is BenchmarkGuard/impl=oidcmw with the default
// MemoryStore holding many sessions. It also reports the heap bytes one
// session costs (value, key and map overhead) as B/session.
func BenchmarkGuardSessions(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run("impl=oidcmw/sessions="+strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			app, cookie := signedInOIDCMW(b, oidctest.Config{}, oidcmw.Options{})
			// The store is keyed by a hash of the cookie value; this
			// mirrors sessionKey in the root package so that the extra
			// entries look like real ones.
			key := func(token string) string {
				sum := sha256.Sum256([]byte(token))
				return "oidcmw:s:" + base64.RawURLEncoding.EncodeToString(sum[:])
			}
			ctx := context.Background()
			value, found, err := app.store.Get(ctx, key(cookie.Value))
			if err != nil || !found {
				b.Fatalf("session record not found under the expected key (found=%v, err=%v): has the key scheme changed?", found, err)
			}

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range n - 1 {
				if err := app.store.Put(ctx, key(rand.Text()), value, 24*time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perSession := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n-1)

			req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
			req.AddCookie(cookie)
			benchGuard(b, app.m.Guard(http.HandlerFunc(greet)), req, "hello alice")
			b.ReportMetric(perSession, "B/session")
			b.ReportMetric(float64(len(value)), "B/record")
			runtime.KeepAlive(app)
		})
	}
}

// benchGuard serves req with h once per iteration and checks the answer.
func benchGuard(b *testing.B, h http.Handler, req *http.Request, want string) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		b.Fatalf("guarded request: %d %q, want 200 %q", rec.Code, rec.Body.String(), want)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("guarded request: status %d", rec.Code)
		}
	}
}

// signedInOIDCMW starts a provider and an oidcmw app, logs in once over
// HTTP and returns the app and the session cookie.
func signedInOIDCMW(b *testing.B, cfg oidctest.Config, opts oidcmw.Options) (*oidcmwApp, *http.Cookie) {
	b.Helper()
	op := oidctest.NewServer(cfg)
	b.Cleanup(op.Close)
	app := newOIDCMWApp(b, op.URL, opts)
	c := newBrowser(b, http.DefaultTransport)
	login(b, c, app.srv.URL, op.URL)
	u, _ := url.Parse(app.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "oidcmw" {
			return app, ck
		}
	}
	b.Fatal("no oidcmw session cookie after login")
	return nil, nil
}

// algs are the provider's ID token signing algorithms to compare.
var algs = []string{"RS256", "ES256"}

// BenchmarkLogin measures one whole login over loopback HTTP as a new user
// (fresh cookie jar): guarded page (302), provider (302), callback (303),
// guarded page (200). Both impls share one provider per algorithm;
// discovery and the JWKS are fetched before the timer starts.
func BenchmarkLogin(b *testing.B) {
	for _, alg := range algs {
		b.Run("alg="+alg, func(b *testing.B) {
			op := oidctest.NewServer(oidctest.Config{Alg: alg})
			b.Cleanup(op.Close)
			apps := []struct {
				impl string
				url  string
			}{
				{"handwritten", newHandwritten(b, op.URL).srv.URL},
				{"oidcmw", newOIDCMWApp(b, op.URL, oidcmw.Options{}).srv.URL},
			}
			tr := newTransport(b)
			for _, app := range apps {
				b.Run("impl="+app.impl, func(b *testing.B) {
					login(b, newBrowser(b, tr), app.url, op.URL) // warm up
					b.ReportAllocs()
					for b.Loop() {
						login(b, newBrowser(b, tr), app.url, op.URL)
					}
				})
			}
		})
	}
}

// BenchmarkOPOnly measures the provider's part of a login: the
// authorization request (302 with a code) and the token request, sent by a
// bare client with PKCE and without verifying anything. The difference to
// BenchmarkLogin is what the relying party and the two other browser
// requests cost.
func BenchmarkOPOnly(b *testing.B) {
	for _, alg := range algs {
		b.Run("alg="+alg, func(b *testing.B) {
			op := oidctest.NewServer(oidctest.Config{Alg: alg})
			b.Cleanup(op.Close)
			const redirectURL = "http://127.0.0.1/auth/callback" // never dialled
			cfg := &oauth2.Config{
				ClientID: oidctest.DefaultClientID,
				Endpoint: oauth2.Endpoint{
					AuthURL:  op.URL + "/authorize",
					TokenURL: op.URL + "/token",
				},
				RedirectURL: redirectURL,
				Scopes:      scopes,
			}
			c := newBrowser(b, newTransport(b))
			round := func() {
				verifier := oauth2.GenerateVerifier()
				authURL := cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(verifier),
					oauth2.SetAuthURLParam("nonce", rand.Text()))
				status, loc, body := navigate(b, c, authURL)
				if status != http.StatusFound || !strings.HasPrefix(loc, redirectURL+"?") {
					b.Fatalf("authorize: %d to %q: %s", status, loc, body)
				}
				u, err := url.Parse(loc)
				if err != nil {
					b.Fatal(err)
				}
				form := url.Values{
					"grant_type":    {"authorization_code"},
					"code":          {u.Query().Get("code")},
					"redirect_uri":  {redirectURL},
					"code_verifier": {verifier},
				}
				req, err := http.NewRequest(http.MethodPost, cfg.Endpoint.TokenURL, strings.NewReader(form.Encode()))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(url.QueryEscape(oidctest.DefaultClientID), url.QueryEscape(oidctest.DefaultClientSecret))
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				tok, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(tok), `"id_token"`) {
					b.Fatalf("token: %d %s (%v)", resp.StatusCode, tok, err)
				}
			}
			round() // warm up
			b.ReportAllocs()
			for b.Loop() {
				round()
			}
		})
	}
}

// newTransport returns a transport of its own for one benchmark's browsers,
// closed with it.
func newTransport(b *testing.B) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	return tr
}
