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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"golang.org/x/oauth2"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/pgxstore"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/adapters/rueidisstore"
	"github.com/oidcmw/oidcmw/internal/pgtest"
	"github.com/oidcmw/oidcmw/internal/redistest"
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
		impl   string
		opts   func(b *testing.B) oidcmw.Options
		settle time.Duration // wait after the login
	}{
		{"oidcmw", func(*testing.B) oidcmw.Options { return oidcmw.Options{} }, 0},
		// The baseline of the circuit breakers' cost: oidcmw with them off.
		{"oidcmw-nobreaker", func(*testing.B) oidcmw.Options {
			return oidcmw.Options{CircuitBreaker: oidcmw.CircuitBreaker{Disabled: true}}
		}, 0},
		{"oidcmw-sealed", func(*testing.B) oidcmw.Options {
			return oidcmw.Options{SecretKeys: [][]byte{[]byte(strings.Repeat("k", 32))}}
		}, 0},
		{"oidcmw-redis", func(b *testing.B) oidcmw.Options {
			return oidcmw.Options{Store: redisStore(b)}
		}, 0},
		{"oidcmw-pgx", func(b *testing.B) oidcmw.Options {
			return oidcmw.Options{Store: pgxStore(b)}
		}, 0},
		// rueidisstore reads a key it wrote from the server for a second
		// (read-your-writes), then from its client-side cache.
		{"oidcmw-rueidis", func(b *testing.B) oidcmw.Options {
			return oidcmw.Options{Store: rueidisStore(b)}
		}, 1100 * time.Millisecond},
	}
	for _, v := range variants {
		b.Run("impl="+v.impl, func(b *testing.B) {
			app, cookie := signedInOIDCMW(b, oidctest.Config{}, v.opts(b))
			time.Sleep(v.settle)
			req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
			req.AddCookie(cookie)
			benchGuard(b, app.m.Guard(http.HandlerFunc(greet)), req, "hello alice")
		})
	}
}

// redisStore is adapters/redisstore on OIDCMW_TEST_REDIS_URL.
func redisStore(b *testing.B) oidcmw.Store {
	o, err := redis.ParseURL(redistest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	c := redis.NewClient(o)
	b.Cleanup(func() { c.Close() })
	return redisstore.New(c)
}

// pgxStore is adapters/pgxstore on OIDCMW_TEST_POSTGRES_URL, in tables of
// its own.
func pgxStore(b *testing.B) oidcmw.Store {
	pool, err := pgxpool.New(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	s, err := pgxstore.New(pool, pgxstore.Options{TablePrefix: "bench" + strings.ToLower(rand.Text()[:8]) + "_"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// rueidisStore is adapters/rueidisstore, with client-side caching, on
// OIDCMW_TEST_REDIS_URL.
func rueidisStore(b *testing.B) oidcmw.Store {
	o, err := rueidis.ParseURL(redistest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	c, err := rueidis.NewClient(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return rueidisstore.New(c, 0)
}

// BenchmarkGuardSessions is BenchmarkGuard/impl=oidcmw with the default
// MemoryStore holding many sessions: one from a real login, the others
// copies of its record under random keys of the real form, each indexed by
// a sid and a subject of its own as the middleware indexes real sessions.
// It also reports what one session costs in the heap after a GC (record,
// key, index entries and map overhead) as B/session, the record's length as
// B/record, the three raw tokens (ID, access, refresh) as B/tokens, and
// B/session minus B/tokens as B/session-overhead, and the garbage
// collections during the timed loop as GCs.
//
// The timed loop starts after untimed requests have run through one
// collection cycle, as in a server that has been up for a while. Without
// that, a one-second run at 1M sessions measures a one-off: the collector
// lets the heap grow by as much as it holds (GOGC=100), about 1.7 GB, so the
// first cycle after the fill allocates only from pages the process has
// never touched, and pays a page fault every few requests. The 1M case is
// skipped with -short.
func BenchmarkGuardSessions(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		name := strconv.Itoa(n/1000) + "k"
		if n >= 1_000_000 {
			name = strconv.Itoa(n/1_000_000) + "M"
		}
		b.Run("impl=oidcmw/sessions="+name, func(b *testing.B) {
			if n >= 1_000_000 && testing.Short() {
				b.Skip("skipping 1M sessions in -short mode")
			}
			app, cookie := signedInOIDCMW(b, oidctest.Config{}, oidcmw.Options{})
			ctx := context.Background()
			value, found, err := app.store.Get(ctx, sessionKey(cookie.Value))
			if err != nil || !found {
				b.Fatalf("session record not found under the expected key (found=%v, err=%v): has the key scheme changed?", found, err)
			}
			id := identityOf(b, app, cookie)
			tokens := len(id.IDToken) + len(id.AccessToken) + len(id.RefreshToken)
			issuer := id.Issuer
			if keys, err := app.store.Members(ctx, subIndexKey(issuer, id.Subject)); err != nil || len(keys) != 1 {
				b.Fatalf("the real session is not indexed under subIndexKey (%v, %v): has the index key scheme changed?", keys, err)
			}

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range n - 1 {
				key := sessionKey(rand.Text())
				if err := app.store.Put(ctx, key, value, 24*time.Hour); err != nil {
					b.Fatal(err)
				}
				for _, idx := range []string{sidIndexKey(issuer, rand.Text()), subIndexKey(issuer, rand.Text())} {
					if err := app.store.AddMember(ctx, idx, key, 24*time.Hour); err != nil {
						b.Fatal(err)
					}
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perSession := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n-1)
			before = after

			req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
			req.AddCookie(cookie)
			h := app.m.Guard(http.HandlerFunc(greet))
			untilCollection(h, req)
			runtime.ReadMemStats(&before)
			benchGuard(b, h, req, "hello alice")
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.NumGC-before.NumGC), "GCs")
			b.ReportMetric(perSession, "B/session")
			b.ReportMetric(perSession-float64(tokens), "B/session-overhead")
			b.ReportMetric(float64(tokens), "B/tokens")
			b.ReportMetric(float64(len(value)), "B/record")
			// Let the store go now: testing keeps a finished benchmark's
			// cleanup functions for a while, and through the server's
			// handler they would keep this store alive during the next run,
			// doubling the heap the collector marks there.
			app.srv.Close()
			app.srv.Config.Handler = nil
		})
	}
}

// untilCollection serves req with h until the collector has finished a
// cycle (at most 10M times).
func untilCollection(h http.Handler, req *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := ms.NumGC
	for i := 1; i <= 10_000_000; i++ {
		h.ServeHTTP(httptest.NewRecorder(), req)
		if i%4096 == 0 {
			if runtime.ReadMemStats(&ms); ms.NumGC != start {
				return
			}
		}
	}
}

// sessionKey is the store key of the session whose cookie value is token.
// It mirrors sessionKey in the root package, so that sessions put into the
// store here look like real ones; callers check that a real session is
// found under it.
func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "oidcmw:s:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// identityOf returns the Identity the guard puts into the context for the
// session cookie.
func identityOf(b *testing.B, app *oidcmwApp, cookie *http.Cookie) *oidcmw.Identity {
	b.Helper()
	var id *oidcmw.Identity
	h := app.m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ = oidcmw.FromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || id == nil {
		b.Fatalf("guarded request: %d, identity %v", rec.Code, id)
	}
	return id
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
	return app, signIn(b, app, op.URL)
}

// signIn logs in to app once over HTTP, as a new user, and returns the
// session cookie.
func signIn(b *testing.B, app *oidcmwApp, opURL string) *http.Cookie {
	b.Helper()
	c := newBrowser(b, http.DefaultTransport)
	login(b, c, app.srv.URL, opURL)
	u, _ := url.Parse(app.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "oidcmw" {
			return ck
		}
	}
	b.Fatal("no oidcmw session cookie after login")
	return nil
}

// algs are the provider's ID token signing algorithms to compare.
var algs = []string{"RS256", "ES256"}

// BenchmarkLogin measures one whole login over loopback HTTP as a new user
// (fresh cookie jar): guarded page (302), provider (302), callback (303),
// guarded page (200). Each run has a provider and an app of its own;
// discovery and the JWKS are fetched before the timer starts.
//
// It also reports the session cookie of the warm-up login: B/cookie is its
// name=value pair, which the browser sends with every request, and
// B/set-cookie the whole Set-Cookie header that set it (with Path, Max-Age,
// HttpOnly, SameSite; over https oidcmw adds Secure and the name gets the
// "__Host-" prefix).
func BenchmarkLogin(b *testing.B) {
	for _, alg := range algs {
		b.Run("alg="+alg, func(b *testing.B) {
			apps := []struct {
				impl   string
				start  func(b *testing.B, issuer string) string // serves the app, returns its URL
				cookie string                                   // the session cookie's name
			}{
				{"handwritten", func(b *testing.B, issuer string) string { return newHandwritten(b, issuer).srv.URL }, "session"},
				{"oidcmw", func(b *testing.B, issuer string) string {
					return newOIDCMWApp(b, issuer, oidcmw.Options{}).srv.URL
				}, "oidcmw"},
			}
			for _, app := range apps {
				b.Run("impl="+app.impl, func(b *testing.B) {
					// A fresh provider, app and connection pool for each
					// run: the provider keeps what it has seen, and a
					// shared one would make later runs slower.
					op := newProvider(b, alg)
					url := app.start(b, op.URL)
					tr := newTransport(b)
					rec := &setCookieRecorder{next: tr}
					login(b, newBrowser(b, rec), url, op.URL) // warm up
					line := rec.last(app.cookie)
					if line == "" {
						b.Fatalf("the login set no %s cookie", app.cookie)
					}
					pair, _, _ := strings.Cut(line, ";")
					b.ReportAllocs()
					for b.Loop() {
						login(b, newBrowser(b, tr), url, op.URL)
					}
					b.ReportMetric(float64(len(pair)), "B/cookie")
					b.ReportMetric(float64(len(line)), "B/set-cookie")
				})
			}
		})
	}
}

// newProvider serves an oidctest provider signing with alg until b ends.
func newProvider(b *testing.B, alg string) *oidctest.Server {
	op := oidctest.NewServer(oidctest.Config{Alg: alg})
	b.Cleanup(op.Close)
	return op
}

// setCookieRecorder is a transport that keeps the Set-Cookie headers of
// the responses it carries.
type setCookieRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	lines []string
}

func (t *setCookieRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.mu.Lock()
		t.lines = append(t.lines, resp.Header.Values("Set-Cookie")...)
		t.mu.Unlock()
	}
	return resp, err
}

// last returns the last Set-Cookie header that set the cookie name to a
// non-empty value, or "".
func (t *setCookieRecorder) last(name string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.lines) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(t.lines[i], name+"="); ok && v != "" && v[0] != ';' {
			return t.lines[i]
		}
	}
	return ""
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
			cfg := bareClient(op.URL)
			c := newBrowser(b, newTransport(b))
			round := func() {
				code, verifier := authorize(b, c, cfg)
				postToken(b, c, cfg, url.Values{
					"grant_type":    {"authorization_code"},
					"code":          {code},
					"redirect_uri":  {cfg.RedirectURL},
					"code_verifier": {verifier},
				}, `"id_token"`)
			}
			round() // warm up
			b.ReportAllocs()
			for b.Loop() {
				round()
			}
		})
	}
}

// bareClient is the client configuration of the bare clients in this
// package, for the provider at opURL. Its redirect URL is never dialled.
func bareClient(opURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:  opURL + "/authorize",
			TokenURL: opURL + "/token",
		},
		RedirectURL: "http://127.0.0.1/auth/callback",
		Scopes:      scopes,
	}
}

// authorize sends an authorization request with PKCE S256 and a nonce, as
// a browser following the relying party's redirect would, and returns the
// code from the provider's redirect and the PKCE verifier.
func authorize(b *testing.B, c *http.Client, cfg *oauth2.Config) (code, verifier string) {
	b.Helper()
	verifier = oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", rand.Text()))
	status, loc, body := navigate(b, c, authURL)
	if status != http.StatusFound || !strings.HasPrefix(loc, cfg.RedirectURL+"?") {
		b.Fatalf("authorize: %d to %q: %s", status, loc, body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.Fatal(err)
	}
	return u.Query().Get("code"), verifier
}

// postToken sends a token request with client_secret_basic and returns the
// response body; it fails unless the answer is 200 and contains want.
func postToken(b *testing.B, c *http.Client, cfg *oauth2.Config, form url.Values, want string) []byte {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, cfg.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(tok), want) {
		b.Fatalf("token: %d %s (%v)", resp.StatusCode, tok, err)
	}
	return tok
}

// newTransport returns a transport of its own for one benchmark's browsers,
// closed with it.
func newTransport(b *testing.B) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	return tr
}
