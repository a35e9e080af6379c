package oidcmw

import (
	"strings"
	"testing"
)

// BenchmarkReturnTo measures the return_to validator alone (safeReturnTo,
// run by Login and by the guard for every login it starts) on typical and
// worst-case values. internal/bench holds the other benchmarks; this one
// lives here because the validator is unexported.
func BenchmarkReturnTo(b *testing.B) {
	long := "/" + strings.Repeat("abcdefg/", 255) // 2041 bytes, accepted
	cases := []struct {
		name, raw string
		ok        bool
	}{
		{"benign", "/orders/42?tab=items&sort=desc#top", true},
		{"benign-long", long, true},
		// Refused at the second byte.
		{"hostile", "//evil.example/phish", false},
		// Refused only at the last segment, after a full scan.
		{"hostile-late", long + "%2e%2e", false},
	}
	for _, c := range cases {
		b.Run("value="+c.name, func(b *testing.B) {
			if got := safeReturnTo(c.raw); (got == c.raw) != c.ok {
				b.Fatalf("safeReturnTo(%.40q...) = %.40q, want accepted=%v", c.raw, got, c.ok)
			}
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				safeReturnTo(c.raw)
			}
		})
	}
}
