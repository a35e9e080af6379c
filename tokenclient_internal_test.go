package oidcmw

import (
	"encoding/json"
	"testing"
	"time"
)

// TestExpiresInClamped: an absurd expires_in does not overflow into an
// expiry in the past (which would refresh on every request); 0 and absent
// stay apart.
func TestExpiresInClamped(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		json string
		want time.Time
	}{
		{`{"expires_in":9223372036854775807}`, now.Add(time.Duration(maxExpiresIn) * time.Second)},
		{`{"expires_in":"3600"}`, now.Add(time.Hour)},
		{`{"expires_in":0}`, now},
		{`{"expires_in":-5}`, now},
		{`{}`, time.Time{}},
	} {
		var tr tokenResponse
		if err := json.Unmarshal([]byte(tc.json), &tr); err != nil {
			t.Fatal(err)
		}
		if got := tr.ExpiresIn.expiry(now); !got.Equal(tc.want) {
			t.Errorf("%s: expiry %v, want %v", tc.json, got, tc.want)
		}
	}
}
