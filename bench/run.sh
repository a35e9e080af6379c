#!/usr/bin/env bash
# bench/run.sh runs the benchmark suite (internal/bench, and the root
# package's BenchmarkReturnTo) and prints benchstat tables that compare the
# implementations measured in the same run, then the derived figures and
# the performance goals (see docs/BENCHMARKS.md).
#
# Usage: bench/run.sh            (from anywhere inside the clone)
# Environment:
#   COUNT      runs of each benchmark (default 6, the least benchstat
#              needs for a 95% confidence interval)
#   BENCHTIME  go test -benchtime, e.g. 2s or 500x (default: go test's, 1s)
#   SKIP_1M    1 skips GuardSessions with 1M sessions (go test -short): it
#              fills about 1.7 GB of heap (about 25 s of the run)
#   OUT        raw results file (default bench/results.txt, git-ignored)
#   BENCHSTAT  benchstat command (default: go run of
#              golang.org/x/perf/cmd/benchstat@latest; nothing is added to
#              go.mod)
#   OIDCMW_TEST_REDIS_URL
#              a Redis to benchmark the guard with adapters/redisstore and
#              adapters/rueidisstore
#              (e.g. unix:///tmp/redis.sock); without it that case is skipped
#   OIDCMW_TEST_POSTGRES_URL
#              a PostgreSQL to benchmark the guard with adapters/pgxstore
#              (e.g. postgres://postgres@/postgres?host=/tmp/pgsock); without
#              it that case is skipped
set -euo pipefail

cd "$(dirname "$0")/.."

COUNT="${COUNT:-6}"
OUT="${OUT:-bench/results.txt}"
BENCHSTAT="${BENCHSTAT:-go run golang.org/x/perf/cmd/benchstat@latest}"

args=(-run '^$' -bench . -benchmem -count "$COUNT")
if [[ -n "${BENCHTIME:-}" ]]; then
	args+=(-benchtime "$BENCHTIME")
fi
if [[ "${SKIP_1M:-}" == 1 ]]; then
	args+=(-short)
fi
if [[ -z "${OIDCMW_TEST_REDIS_URL:-}" ]]; then
	echo "OIDCMW_TEST_REDIS_URL is not set: Guard/impl=oidcmw-redis and oidcmw-rueidis are skipped" >&2
fi

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
start=$SECONDS
for pkg in ./internal/bench/ .; do
	printf '==> go test %s -skip SessionHeap %s | tee -a %s\n' "${args[*]}" "$pkg" "$OUT"
	go test "${args[@]}" -skip SessionHeap "$pkg" | tee -a "$OUT"
done
# SessionHeap reads the process's resident set size: each impl in a process
# of its own, so that one's freed pages do not hide the next one's.
for impl in handwritten oidcmw oidcmw-noindex; do
	heap_args=(-run '^$' -bench "^BenchmarkSessionHeap\$/^impl=${impl}\$/" -count 1)
	if [[ "${SKIP_1M:-}" == 1 ]]; then
		heap_args+=(-short)
	fi
	for ((i = 0; i < COUNT; i++)); do
		printf '==> go test %s ./internal/bench/ | tee -a %s\n' "${heap_args[*]}" "$OUT"
		go test "${heap_args[@]}" ./internal/bench/ | tee -a "$OUT"
	done
done

printf '\n==> benchmarks took %d s\n' "$((SECONDS - start))"

table() {
	local title="$1"
	shift
	printf '\n==> %s\n\n' "$title"
	# shellcheck disable=SC2086 # BENCHSTAT is a command line
	$BENCHSTAT "$@" "$OUT"
}

table 'Guard: one authenticated request, in process (base: scs)' \
	-filter '.name:Guard' -col '/impl@(scs nethttp oidcmw oidcmw-sealed oidcmw-redis oidcmw-rueidis oidcmw-pgx)'
table 'AnonymousLogins: heap that cookieless login requests leave until LoginTimeout (base: unbounded)' \
	-filter '.name:AnonymousLogins' -col /impl
table 'SessionHeap: memory per live session (base: handwritten)' \
	-filter '.name:SessionHeap' -col /impl
table 'GuardSessions: oidcmw guard with a full MemoryStore (base: 10k)' \
	-filter '.name:GuardSessions' -col /sessions
table 'Login: one whole login over loopback HTTP (base: handwritten)' \
	-filter '.name:Login' -col /impl
table "LoginCPU: the relying party's own CPU per login, in a process of its own (base: handwritten)" \
	-filter '.name:LoginCPU' -col /impl
table "OPOnly: the provider's share of a login (base: RS256)" \
	-filter '.name:OPOnly' -col /alg
table 'Refresh: one access token refresh over loopback HTTP (base: handwritten)' \
	-filter '.name:Refresh' -col /impl
table "OPRefreshOnly: the provider's share of a refresh (base: RS256)" \
	-filter '.name:OPRefreshOnly' -col /alg
table 'BackchannelLogout: one valid logout token, in process (base: no session to end)' \
	-filter '.name:BackchannelLogout' -col /sessions
table 'ReturnTo: the return_to validator alone (base: benign)' \
	-filter '.name:ReturnTo' -col /value
table "ProxyCPU: the proxy process's CPU per request (base: bare httputil.ReverseProxy)" \
	-filter '.name:ProxyCPU' -col /impl
table 'Circuit breaker: a guarded request with the breakers on (base: oidcmw-nobreaker, breakers off)' \
	-filter '.name:Guard' -col '/impl@(oidcmw-nobreaker oidcmw)'
table 'Circuit breaker: one Store.Get through a closed circuit (base: breaker off)' \
	-filter '.name:CircuitStoreGet' -col /breaker

# GuardSessions at 1M sessions is bimodal (a run sees one collection of the
# 1.7 GB heap or none; see GCs), so also print the mean over all runs: total
# time / total iterations, from the raw lines.
printf '\n==> GuardSessions, mean over all runs (total time / total iterations)\n\n'
awk '
	$1 ~ /^BenchmarkGuardSessions\// && $4 == "ns/op" {
		name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		if (!(name in n)) order[++k] = name
		t[name] += $2 * $3; n[name] += $2
		for (i = 5; i < NF; i++) if ($(i + 1) == "GCs") g[name] = g[name] " " $i
	}
	END {
		for (i = 1; i <= k; i++) {
			printf "  %-42s %7.0f ns/op  (GCs per run:%s)\n", order[i], t[order[i]] / n[order[i]], g[order[i]]
		}
		a = "GuardSessions/impl=oidcmw/sessions=10k"; z = "GuardSessions/impl=oidcmw/sessions=1M"
		if ((a in n) && (z in n))
			printf "  1M / 10k: %.2fx\n", (t[z] / n[z]) / (t[a] / n[a])
	}' "$OUT"

# Derived figures, from the benchstat medians: one CSV row per benchmark and
# unit, fed to awk as "unit name median".
printf '\n==> Derived figures and goals (benchstat medians)\n\n'
# shellcheck disable=SC2086 # BENCHSTAT is a command line
$BENCHSTAT -format csv -row .fullname -col .file "$OUT" 2>/dev/null |
	awk -F, '
		$1 == "" && $3 == "CI" { unit = $2; next }
		$1 != "" && $1 != "geomean" && NF >= 2 && unit != "" && $2 != "" {
			name = $1; sub(/-[0-9]+$/, "", name); print unit, name, $2
		}' |
	awk '
		{ v[$1, $2] = $3 }
		function has(u, n) { return ((u, n) in v) }
		function ns(u, n) { return v[u, n] * 1e9 }
		function goal(what, measured, met) {
			printf "%-58s %-44s %s\n", what, measured, (met ? "met" : "NOT MET")
		}
		END {
			s = "sec/op"; a = "allocs/op"
			print "Guard overhead above the bare handler (impl - nethttp):"
			base = "Guard/impl=nethttp"
			n = split("scs oidcmw oidcmw-sealed oidcmw-redis oidcmw-rueidis oidcmw-pgx", impls, " ")
			for (i = 1; i <= n; i++) {
				k = "Guard/impl=" impls[i]
				if (!has(s, k) || !has(s, base)) continue
				ov[impls[i]] = ns(s, k) - ns(s, base)
				ova[impls[i]] = v[a, k] - v[a, base]
				printf "  %-14s %9.0f ns  %+5d allocs  %+7d B\n", impls[i], ov[impls[i]], ova[impls[i]], v["B/op", k] - v["B/op", base]
			}
			print ""
			print "Login: relying party share = Login - OPOnly (same alg):"
			nalg = split("RS256 ES256", algs, " ")
			for (i = 1; i <= nalg; i++) {
				op = "OPOnly/alg=" algs[i]
				h = "Login/alg=" algs[i] "/impl=handwritten"
				o = "Login/alg=" algs[i] "/impl=oidcmw"
				if (!has(s, op) || !has(s, h) || !has(s, o)) continue
				lh[i] = ns(s, h) - ns(s, op); lo[i] = ns(s, o) - ns(s, op)
				printf "  %s: OP %7.1f us; handwritten share %7.1f us, oidcmw share %7.1f us, ratio %.2f\n",
					algs[i], ns(s, op) / 1e3, lh[i] / 1e3, lo[i] / 1e3, lo[i] / lh[i]
			}
			print ""
			print "Refresh: total, and relying party share = Refresh - OPRefreshOnly (same alg):"
			for (i = 1; i <= nalg; i++) {
				op = "OPRefreshOnly/alg=" algs[i]
				h = "Refresh/alg=" algs[i] "/impl=handwritten"
				o = "Refresh/alg=" algs[i] "/impl=oidcmw"
				if (!has(s, op) || !has(s, h) || !has(s, o)) continue
				rt[i] = ns(s, o) / ns(s, h)
				printf "  %s: handwritten %7.1f us, oidcmw %7.1f us, ratio %.2f; OP %7.1f us; shares %6.1f / %6.1f us, ratio %.2f\n",
					algs[i], ns(s, h) / 1e3, ns(s, o) / 1e3, rt[i], ns(s, op) / 1e3,
					(ns(s, h) - ns(s, op)) / 1e3, (ns(s, o) - ns(s, op)) / 1e3,
					(ns(s, o) - ns(s, op)) / (ns(s, h) - ns(s, op))
			}
			print ""
			print "Goals:"
			if (("oidcmw" in ov) && ("scs" in ov)) {
				goal("Guard overhead <= 0.5x scs LoadAndSave+GetString overhead",
					sprintf("%.0f / %.0f ns = %.2fx", ov["oidcmw"], ov["scs"], ov["oidcmw"] / ov["scs"]),
					ov["oidcmw"] <= 0.5 * ov["scs"])
				goal("Guard allocations <= 3 (above the bare handler)",
					sprintf("%d allocs/op", ova["oidcmw"]), ova["oidcmw"] <= 3)
			}
			g10 = "GuardSessions/impl=oidcmw/sessions=10k"
			g1m = "GuardSessions/impl=oidcmw/sessions=1M"
			if (has(s, g10) && has(s, g1m))
				goal("Guard ns/op at 1M sessions <= 1.2x at 10k",
					sprintf("%.0f / %.0f ns = %.2fx", ns(s, g1m), ns(s, g10), ns(s, g1m) / ns(s, g10)),
					ns(s, g1m) <= 1.2 * ns(s, g10))
			worst = -1
			for (k in v) {
				split(k, kk, SUBSEP)
				if (kk[1] == "B/session-overhead" && v[k] > worst) { worst = v[k]; wk = kk[2] }
			}
			if (worst >= 0) {
				sub(/.*sessions=/, "", wk)
				goal("Session heap beyond the raw tokens <= 2 KiB",
					sprintf("%.0f B (largest, at %s)", worst, wk), worst <= 2048)
			}
			for (i = 1; i <= nalg; i++)
				if (i in lo)
					goal("Login (" algs[i] ") wall share <= 0.7x (Login - OPOnly)",
						sprintf("%.1f / %.1f us = %.2fx", lo[i] / 1e3, lh[i] / 1e3, lo[i] / lh[i]),
						lo[i] <= 0.7 * lh[i])
			for (i = 1; i <= nalg; i++) {
				h = "LoginCPU/alg=" algs[i] "/impl=handwritten"; o = "LoginCPU/alg=" algs[i] "/impl=oidcmw"
				u = "rp-cpu-sec/op" # rp-cpu-ns/op, as benchstat names it
				if (has(u, h) && has(u, o))
					goal("Login (" algs[i] ") relying party process CPU <= 0.7x",
						sprintf("%.1f / %.1f us = %.2fx", v[u, o] * 1e6, v[u, h] * 1e6, v[u, o] / v[u, h]),
						v[u, o] <= 0.7 * v[u, h])
			}
			for (i = 1; i <= nalg; i++)
				if (i in rt)
					goal("Refresh (" algs[i] ") <= 1x handwritten TokenSource refresh",
						sprintf("%.2fx", rt[i]), rt[i] <= 1)
			for (k in v) {
				split(k, kk, SUBSEP)
				if (kk[2] ~ /^SessionHeap\/impl=handwritten\//) { hs = kk[2]; sub(/.*\//, "", hs) }
			}
			for (j = 1; j <= 2; j++) {
				u = (j == 1) ? "B-heap/session" : "B-rss/session"
				hw = "SessionHeap/impl=handwritten/" hs
				split("oidcmw oidcmw-noindex", oi, " ")
				for (q = 1; q <= 2; q++) {
					o = "SessionHeap/impl=" oi[q] "/" hs
					if (has(u, hw) && has(u, o))
						goal(sprintf("%s %s <= handwritten (%s)", u, (q == 1 ? "with indexes" : "without indexes"), hs),
							sprintf("%.0f / %.0f B = %.2fx", v[u, o], v[u, hw], v[u, o] / v[u, hw]),
							v[u, o] <= v[u, hw])
				}
			}
			c = "Login/alg=RS256/impl=oidcmw"
			if (has("B/cookie", c))
				goal("Session cookie <= 64 bytes (name=value)",
					sprintf("%d B (Set-Cookie header %d B)", v["B/cookie", c], v["B/set-cookie", c]),
					v["B/cookie", c] <= 64)
		}'
