package bench

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// BenchmarkAnonymousLogins measures what cookieless requests that start a
// login leave in the store until LoginTimeout: 20k GETs of Login, each from
// a new visitor, and the heap they hold afterwards per request
// (B-heap/request), without a bound (impl=unbounded) and with
// MaxOpenLogins at 5k (impl=bounded), where requests beyond the bound get
// 503 and store nothing. The timed loop is empty; the figures are the
// metrics.
func BenchmarkAnonymousLogins(b *testing.B) {
	const requests = 20_000
	for _, tc := range []struct {
		impl  string
		bound int
	}{{"unbounded", 10 * requests}, {"bounded", requests / 4}} {
		b.Run("impl="+tc.impl, func(b *testing.B) {
			op := oidctest.NewServer(oidctest.Config{})
			b.Cleanup(op.Close)
			// Refused requests are logged: not to the benchmark's log, whose
			// lines it would keep in the heap being measured.
			app := newOIDCMWApp(b, op.URL, oidcmw.Options{MaxOpenLogins: tc.bound, Logger: slog.New(slog.DiscardHandler)})
			if err := app.m.Discover(b.Context()); err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/auth/login", nil)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			refused := 0
			for range requests {
				w := httptest.NewRecorder()
				app.m.Login(w, req)
				if w.Code == http.StatusServiceUnavailable {
					refused++
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			for b.Loop() {
			}
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/requests, "B-heap/request")
			b.ReportMetric(float64(refused), "refused")
		})
	}
}
