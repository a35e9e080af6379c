package oidcmw

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// TestMemoryStoreCopies: the store keeps a copy of what it is given, so a
// caller that reuses its buffer changes nothing stored.
func TestMemoryStoreCopies(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(nil)
	buf := []byte("value")
	if err := s.Put(ctx, "k", buf, time.Hour); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	if v, _, _ := s.Get(ctx, "k"); string(v) != "value" {
		t.Fatalf("Get = %q after the caller reused its buffer", v)
	}
	if _, err := s.Add(ctx, "a", buf, time.Hour); err != nil {
		t.Fatal(err)
	}
	copy(buf, "YYYYY")
	if v, _, _ := s.Take(ctx, "a"); string(v) != "XXXXX" {
		t.Fatalf("Take = %q after the caller reused its buffer", v)
	}
}

// TestMemoryStoreSetExpiry: AddMember keeps a set for at least ttl from
// now, never shortens it, and an expired set starts afresh.
func TestMemoryStoreSetExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := NewMemoryStore(func() time.Time { return now })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddMember(ctx, "set", "a", time.Hour))
	must(s.AddMember(ctx, "set", "b", time.Minute)) // does not shorten the hour
	now = now.Add(30 * time.Minute)
	if got, _ := s.Members(ctx, "set"); len(got) != 2 {
		t.Fatalf("after 30 min: %q", got)
	}
	now = now.Add(31 * time.Minute)
	if got, _ := s.Members(ctx, "set"); len(got) != 0 {
		t.Fatalf("after 61 min: %q", got)
	}
	must(s.AddMember(ctx, "set", "c", time.Hour))
	if got, _ := s.Members(ctx, "set"); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("an expired set kept old members: %q", got)
	}
}

// TestMemoryStoreBigSet: a set outgrowing maxSmallSet keeps every member
// once.
func TestMemoryStoreBigSet(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(nil)
	for range 2 {
		for i := range 3 * maxSmallSet {
			if err := s.AddMember(ctx, "set", fmt.Sprint("m", i), time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, _ := s.Members(ctx, "set")
	slices.Sort(got)
	if len(got) != 3*maxSmallSet || len(slices.Compact(got)) != 3*maxSmallSet {
		t.Fatalf("%d members: %q", len(got), got)
	}
}

// TestMemoryStoreSweep: expired entries leave the store at the next write
// after the sweep interval.
func TestMemoryStoreSweep(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := NewMemoryStore(func() time.Time { return now })
	for i := range 10 {
		_ = s.Put(ctx, fmt.Sprint("k", i), []byte("v"), time.Minute)
		_ = s.AddMember(ctx, fmt.Sprint("s", i), "m", time.Minute)
	}
	now = now.Add(2 * time.Minute)
	_ = s.Put(ctx, "new", []byte("v"), time.Hour)
	if n := s.Len(); n != 1 {
		t.Fatalf("%d entries after the sweep, want 1", n)
	}
}

// TestMemoryStoreLongTTL: a TTL beyond the year 2262 keeps the entry
// instead of overflowing into the past.
func TestMemoryStoreLongTTL(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(nil)
	for _, ttl := range []time.Duration{math.MaxInt64, 200 * 365 * 24 * time.Hour} {
		if err := s.Put(ctx, "k", []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.Get(ctx, "k"); !found {
			t.Fatalf("ttl %v: not found", ttl)
		}
		if err := s.AddMember(ctx, "set", "m", ttl); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Members(ctx, "set"); len(got) != 1 {
			t.Fatalf("ttl %v: set %q", ttl, got)
		}
	}
}
