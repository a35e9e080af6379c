package oidcmw

import (
	"testing"
	"time"
)

// TestLoginBudgetWindow: the budget counts the logins of the last
// LoginTimeout, bucket by bucket, and says how long until the oldest
// leaves.
func TestLoginBudgetWindow(t *testing.T) {
	b := newLoginBudget(2, 60*time.Second) // buckets of 1 s
	t0 := time.Unix(1_800_000_000, 0)
	for i, at := range []time.Duration{0, 30 * time.Second} {
		if _, ok := b.take(t0.Add(at)); !ok {
			t.Fatalf("login %d refused", i)
		}
	}
	wait, ok := b.take(t0.Add(45 * time.Second))
	if ok || wait != 15*time.Second {
		t.Fatalf("third login: ok %v, wait %v, want refused for 15 s", ok, wait)
	}
	if _, ok := b.take(t0.Add(60 * time.Second)); !ok {
		t.Fatal("refused after the first left the window")
	}
	if _, ok := b.take(t0.Add(61 * time.Second)); ok {
		t.Fatal("accepted a third within the window")
	}
}
