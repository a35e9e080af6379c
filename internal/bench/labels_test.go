package bench

import (
	"context"
	"net/http"
	"runtime/pprof"
	"time"
)

// CPU profile labels. BenchmarkLogin and BenchmarkRefresh label every
// goroutine by the party whose work it does, with the pprof label "part",
// whose value starts with "login/" or "refresh/" and goes on with:
//
//   - "rp/<impl>/<alg>": the relying party: its server's connection
//     goroutines, its handlers and its own HTTP client's connections to
//     the provider (for Refresh, also the benchmark goroutine, which calls
//     the relying party directly);
//   - "op/<alg>": the provider's server;
//   - "browser": the benchmark goroutine driving logins, and its
//     connections.
//
// Goroutines inherit the labels of the goroutine that starts them, so a
// server started under a label, and a transport whose connections are
// first dialled under it, keep it. With a CPU profile of these benchmarks,
// `go tool pprof -tags` gives each party's CPU time, and the relying
// party's CPU per operation is its time divided by the iterations
// (bench/run.sh does this). The collector's background workers carry no
// label; its assists are charged to the goroutine that allocates.

// asPart runs f with the goroutine labelled part; goroutines f starts keep
// the label.
func asPart(part string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("part", part), func(context.Context) { f() })
}

// labelGoroutine labels the calling goroutine part until the returned
// function restores its labels.
func labelGoroutine(ctx context.Context, part string) (restore func()) {
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("part", part)))
	return func() { pprof.SetGoroutineLabels(ctx) }
}

// rpClient is a relying party's own HTTP client to the provider: its own
// connection pool, so that its connections carry its label.
func rpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
