// Package bench holds benchmarks that compare oidcmw with what Go users
// write without it: a bare net/http handler, an alexedwards/scs session,
// and a hand-written login with golang.org/x/oauth2 and coreos/go-oidc.
//
// The package has no code of its own; everything is in _test.go files.
// Each comparison is a family of sub-benchmarks named impl=..., so that
//
//	benchstat -col /impl results.txt
//
// prints ratios against a baseline measured in the same run. bench/run.sh at
// the repository root runs the suite and prints those tables;
// docs/BENCHMARKS.md records the figures and the machine they came from.
//
//   - BenchmarkGuard: one authenticated request through the guard, in
//     process (no network), against net/http alone and scs; with the
//     sealed records and, given OIDCMW_TEST_REDIS_URL, the Redis store.
//   - BenchmarkGuardSessions: the same with 10k, 100k and 1M sessions in
//     the MemoryStore, each indexed as real sessions are (1M skipped with
//     -short), and the heap bytes each session costs, with and without its
//     raw tokens.
//   - BenchmarkLogin: a whole login over loopback HTTP against oidctest,
//     oidcmw against the hand-written flow, per signing algorithm, and the
//     size of the session cookie it sets.
//   - BenchmarkLoginCPU: the same login with the relying party in a process
//     of its own (TestHelperRP), and that process's CPU time per login.
//   - BenchmarkOPOnly: the provider's share of a login (authorize and
//     token requests from a bare client), to subtract from BenchmarkLogin.
//   - BenchmarkRefresh: one access token refresh, through the guard
//     against oauth2.TokenSource plus go-oidc, and BenchmarkOPRefreshOnly,
//     the provider's share of it.
//   - BenchmarkBackchannelLogout: one valid logout token, with no session
//     or one session to end.
//
// BenchmarkReturnTo, for the unexported return_to validator, is in the
// root package (returnto_bench_test.go).
package bench
