package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// BenchmarkSessionHeap measures what one live session costs in memory, the
// way each app keeps it: for the hand-written go-oidc + scs app, the scs
// record of a real login (sub, ID, access and refresh token, gob-encoded)
// in scs's memstore; for oidcmw, the record of a real login in the default
// MemoryStore, with the sid and subject index entries every session gets
// for back-channel logout (impl=oidcmw) and without them
// (impl=oidcmw-noindex; the hand-written app keeps none). Each real record
// is copied under sessions random keys of the real form; the reports are
// the heap (after a GC) and the resident set size per session, and the
// raw tokens both hold.
//
// The timed loop is empty; the figures are the metrics. -short fills 10k
// sessions instead of 100k.
func BenchmarkSessionHeap(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	for _, impl := range []string{"handwritten", "oidcmw", "oidcmw-noindex"} {
		b.Run("impl="+impl+"/sessions="+strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			fill, tokens := sessionFiller(b, impl)
			runtime.GC()
			heap0, rss0 := memNow()
			keep := fill(n)
			runtime.GC()
			heap1, rss1 := memNow()
			runtime.KeepAlive(keep)
			for b.Loop() {
			}
			b.ReportMetric(float64(heap1-heap0)/float64(n), "B-heap/session")
			b.ReportMetric(float64(rss1-rss0)/float64(n), "B-rss/session")
			b.ReportMetric(float64(tokens), "B/tokens")
		})
	}
}

// sessionFiller logs in once to an app of impl and returns a function that
// stores n copies of that session, and the length of the raw tokens.
func sessionFiller(b *testing.B, impl string) (fill func(n int) any, tokens int) {
	ctx := context.Background()
	if impl == "handwritten" {
		op := newProvider(b, "RS256")
		h := newHandwritten(b, op.URL)
		c := newBrowser(b, http.DefaultTransport)
		login(b, c, h.srv.URL, op.URL)
		u, _ := url.Parse(h.srv.URL)
		var token string
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == "session" {
				token = ck.Value
			}
		}
		record, found, err := h.sm.Store.Find(token)
		if err != nil || !found {
			b.Fatalf("scs record: %v %v", found, err)
		}
		sctx, err := h.sm.Load(ctx, token)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range []string{"id_token", "access_token", "refresh_token"} {
			tokens += len(h.sm.GetString(sctx, k))
		}
		return func(n int) any {
			for range n {
				// As scs's memstore keeps what it is given, a copy each.
				if err := h.sm.Store.Commit(rand.Text(), bytes.Clone(record), time.Now().Add(24*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			return h.sm.Store
		}, tokens
	}
	app, cookie := signedInOIDCMW(b, oidctest.Config{}, oidcmw.Options{})
	value, found, err := app.store.Get(ctx, sessionKey(cookie.Value))
	if err != nil || !found {
		b.Fatalf("session record: %v %v", found, err)
	}
	id := identityOf(b, app, cookie)
	tokens = len(id.IDToken) + len(id.AccessToken) + len(id.RefreshToken)
	return func(n int) any {
		for range n {
			key := sessionKey(rand.Text())
			if err := app.store.Put(ctx, key, value, 24*time.Hour); err != nil {
				b.Fatal(err)
			}
			if impl == "oidcmw-noindex" {
				continue
			}
			for _, idx := range []string{sidIndexKey(id.Issuer, rand.Text()), subIndexKey(id.Issuer, rand.Text())} {
				if err := app.store.AddMember(ctx, idx, key, 24*time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		}
		return app.store
	}, tokens
}

// memNow is the live heap and the resident set size of the process.
func memNow() (heap, rss int64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, err := os.ReadFile("/proc/self/statm")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			rss = pages * int64(os.Getpagesize())
		}
	}
	return int64(ms.HeapAlloc), rss
}
