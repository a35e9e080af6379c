package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// logoutBatch is how many logout tokens (and sessions) are made at a time,
// with the timer stopped.
const logoutBatch = 256

// BenchmarkBackchannelLogout measures one valid logout token (a fresh one
// each time: jti is one-time) posted to Middleware.BackchannelLogout, in
// process (ServeHTTP with a recorder; the provider's JWKS is cached
// beforehand). Tokens are signed by oidctest in batches with the timer
// stopped, with ES256: an RS256 signature costs the provider about 0.9 ms,
// which for the 20,000 tokens of a one-second run would add 18 s per run.
//
//   - sessions=0: the token's sid has no session: 200 and nothing to end
//     (signature and claim checks, the jti replay cache, one index read).
//   - sessions=1: the token's sid has one session, which is ended. The
//     sessions are copies of a real session's record, put into the store
//     under random keys and indexed by sid as the middleware does, in
//     batches with the timer stopped. A real session is ended first, and
//     afterwards the benchmark checks that the last session is gone.
func BenchmarkBackchannelLogout(b *testing.B) {
	for _, sessions := range []int{0, 1} {
		b.Run("sessions="+strconv.Itoa(sessions), func(b *testing.B) {
			op := oidctest.NewServer(oidctest.Config{Alg: "ES256"})
			b.Cleanup(op.Close)
			app := newOIDCMWApp(b, op.URL, oidcmw.Options{})
			cookie := signIn(b, app, op.URL)
			ctx := context.Background()
			record, found, err := app.store.Get(ctx, sessionKey(cookie.Value))
			if err != nil || !found {
				b.Fatalf("session record not found under the expected key (found=%v, err=%v): has the key scheme changed?", found, err)
			}
			var claims struct {
				Sid string `json:"sid"`
			}
			if err := identityOf(b, app, cookie).Claims(&claims); err != nil || claims.Sid == "" {
				b.Fatalf("no sid in the ID token: %v", err)
			}

			// Warm up with the real session: a token for its sid ends it.
			if code := postLogout(b, app.m, newLogoutRequest(b, op, claims.Sid)); code != http.StatusOK {
				b.Fatalf("logout token for the real session: %d", code)
			}
			req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
			req.Header.Set("Accept", "application/json")
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			app.m.Guard(http.HandlerFunc(greet)).ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				b.Fatalf("the real session survived its logout token: %d", rec.Code)
			}

			var batch []*http.Request
			var lastKey string // the store key of the last session made
			refill := func() {
				batch = batch[:0]
				for range logoutBatch {
					sid := rand.Text()
					if sessions > 0 {
						lastKey = sessionKey(rand.Text())
						if err := app.store.Put(ctx, lastKey, record, 24*time.Hour); err != nil {
							b.Fatal(err)
						}
						if err := app.store.AddMember(ctx, sidIndexKey(op.URL, sid), lastKey, 24*time.Hour); err != nil {
							b.Fatal(err)
						}
					}
					batch = append(batch, newLogoutRequest(b, op, sid))
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if len(batch) == 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
				if code := postLogout(b, app.m, batch[len(batch)-1]); code != http.StatusOK {
					b.Fatalf("valid logout token: %d", code)
				}
				batch = batch[:len(batch)-1]
			}
			if sessions > 0 {
				if _, found, _ := app.store.Get(ctx, lastKey); found {
					b.Fatal("a session survived its logout token: has the sid index key scheme changed?")
				}
			}
		})
	}
}

// newLogoutRequest returns a back-channel logout request with a valid
// logout token for alice's provider session sid.
func newLogoutRequest(b *testing.B, op *oidctest.Server, sid string) *http.Request {
	b.Helper()
	token, err := op.LogoutToken(oidctest.DefaultClientID, "alice", sid, "")
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/auth/backchannel",
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// postLogout serves req with the back-channel logout handler and returns
// the status.
func postLogout(b *testing.B, m *oidcmw.Middleware, req *http.Request) int {
	rec := httptest.NewRecorder()
	m.BackchannelLogout(rec, req)
	if rec.Code != http.StatusOK {
		b.Logf("back-channel logout: %d %s", rec.Code, rec.Body)
	}
	return rec.Code
}

// sidIndexKey is the store key of the set of sessions of a provider
// session. It mirrors indexKeys and hashKey in the root package; the
// benchmark checks that sessions indexed under it are ended.
func sidIndexKey(issuer, sid string) string { return indexKey("oidcmw:sid:", issuer, sid) }

// subIndexKey is the store key of the set indexing the sessions of subject
// sub, like sidIndexKey.
func subIndexKey(issuer, sub string) string { return indexKey("oidcmw:sub:", issuer, sub) }

func indexKey(prefix, issuer, v string) string {
	h := sha256.New()
	for _, p := range []string{issuer, v} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
