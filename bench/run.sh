#!/usr/bin/env bash
# bench/run.sh runs the benchmark suite in internal/bench and prints
# benchstat tables that compare the implementations measured in the same
# run (see docs/BENCHMARKS.md).
#
# Usage: bench/run.sh            (from anywhere inside the clone)
# Environment:
#   COUNT      runs of each benchmark (default 6, the least benchstat
#              needs for a 95% confidence interval)
#   BENCHTIME  go test -benchtime, e.g. 2s or 500x (default: go test's, 1s)
#   OUT        raw results file (default bench/results.txt, git-ignored)
#   BENCHSTAT  benchstat command (default: go run of
#              golang.org/x/perf/cmd/benchstat@latest; nothing is added to
#              go.mod)
set -euo pipefail

cd "$(dirname "$0")/.."

COUNT="${COUNT:-6}"
OUT="${OUT:-bench/results.txt}"
BENCHSTAT="${BENCHSTAT:-go run golang.org/x/perf/cmd/benchstat@latest}"

args=(-run '^$' -bench . -benchmem -count "$COUNT")
if [[ -n "${BENCHTIME:-}" ]]; then
	args+=(-benchtime "$BENCHTIME")
fi

mkdir -p "$(dirname "$OUT")"
printf '==> go test %s ./internal/bench/ | tee %s\n' "${args[*]}" "$OUT"
go test "${args[@]}" ./internal/bench/ | tee "$OUT"

table() {
	local title="$1"
	shift
	printf '\n==> %s\n\n' "$title"
	# shellcheck disable=SC2086 # BENCHSTAT is a command line
	$BENCHSTAT "$@" "$OUT"
}

table 'Guard: one authenticated request, in process (base: scs)' \
	-filter '.name:Guard' -col '/impl@(scs nethttp oidcmw)'
table 'GuardSessions: oidcmw guard with a full MemoryStore (base: 10k)' \
	-filter '.name:GuardSessions' -col /sessions
table 'Login: one whole login over loopback HTTP (base: handwritten)' \
	-filter '.name:Login' -col /impl
table "OPOnly: the provider's share of a login (base: RS256)" \
	-filter '.name:OPOnly' -col /alg
