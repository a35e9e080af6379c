package oidcmw

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"testing"
	"time"
)

// TestMemoryStoreChunks fills several chunks, replaces and deletes most
// values, and checks after the sweep that the live values moved out of the
// sparse chunks, that released chunks are reused, and that slices handed out
// before any of it still read the same bytes.
func TestMemoryStoreChunks(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := NewMemoryStore(func() time.Time { return now })
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000+i%7) }
	const n = 5000 // about 5 MB: five chunks
	held := make(map[int][]byte)
	for i := range n {
		key := fmt.Sprintf("k%d", i)
		if err := s.Put(ctx, key, value(i), time.Hour); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			v, _, _ := s.Get(ctx, key)
			held[i] = v
		}
	}
	if len(s.mem.chunks) < 5 {
		t.Fatalf("%d chunks for %d values; want at least 5", len(s.mem.chunks), n)
	}
	for i := range n {
		key := fmt.Sprintf("k%d", i)
		switch {
		case i%10 == 0: // kept
		case i%3 == 0:
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		case i%3 == 1:
			if _, found, _ := s.Take(ctx, key); !found {
				t.Fatalf("Take(%s): not found", key)
			}
		default:
			if err := s.Put(ctx, key, []byte("short"), 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	full := len(s.mem.chunks) - len(s.mem.free)
	now = now.Add(2 * time.Minute) // the "short" values expire; the sweep runs
	if err := s.Put(ctx, "trigger", []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if used := len(s.mem.chunks) - len(s.mem.free); used >= full || used > 2 {
		t.Fatalf("after the sweep %d chunks in use (%d before); want at most 2", used, full)
	}
	for i := range n {
		v, found, err := s.Get(ctx, fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if want := i%10 == 0; found != want {
			t.Fatalf("k%d: found=%v, want %v", i, found, want)
		}
		if found && !bytes.Equal(v, value(i)) {
			t.Fatalf("k%d: value changed by compaction", i)
		}
	}
	for i, v := range held {
		if !bytes.Equal(v, value(i)) {
			t.Fatalf("a slice of k%d read before the changes now reads other bytes", i)
		}
	}
	// Chunks are reused rather than grown without bound.
	before := len(s.mem.chunks)
	for round := range 20 {
		for i := range 2000 {
			if err := s.Put(ctx, fmt.Sprintf("r%d", i), value(round+i), time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(2 * time.Minute)
	}
	if got := len(s.mem.chunks); got > before+6 {
		t.Fatalf("rewriting 2000 keys 20 times grew the chunk list from %d to %d", before, got)
	}
}

// TestMemoryStoreLargeValue puts values that get a chunk of their own and
// checks that deleting one releases its chunk.
func TestMemoryStoreLargeValue(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(nil)
	big := bytes.Repeat([]byte("b"), ownChunk)
	huge := bytes.Repeat([]byte("h"), 3*chunkSize)
	for key, v := range map[string][]byte{"big": big, "huge": huge} {
		if err := s.Put(ctx, key, v, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, found, err := s.Get(ctx, key)
		if err != nil || !found || !bytes.Equal(got, v) {
			t.Fatalf("Get(%s): found=%v err=%v equal=%v", key, found, err, bytes.Equal(got, v))
		}
	}
	if err := s.Delete(ctx, "huge"); err != nil {
		t.Fatal(err)
	}
	if len(s.mem.free) != 1 {
		t.Fatalf("deleting a value with its own chunk released %d chunks, want 1", len(s.mem.free))
	}
}

// TestMemoryStoreSetExpiry: AddMember keeps a set for at least ttl from
// now, and an expired set starts empty.
func TestMemoryStoreSetExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := NewMemoryStore(func() time.Time { return now })
	add := func(m string, ttl time.Duration) {
		t.Helper()
		if err := s.AddMember(ctx, "set", m, ttl); err != nil {
			t.Fatal(err)
		}
	}
	add("a", time.Minute)
	add("b", 10*time.Minute)
	add("a", time.Minute) // present: keeps the longer expiry
	now = now.Add(5 * time.Minute)
	if got, _ := s.Members(ctx, "set"); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("members after 5 min = %v, want [a b]", got)
	}
	now = now.Add(6 * time.Minute)
	if got, _ := s.Members(ctx, "set"); got != nil {
		t.Fatalf("members after 11 min = %v, want none", got)
	}
	add("c", time.Minute)
	if got, _ := s.Members(ctx, "set"); fmt.Sprint(got) != "[c]" {
		t.Fatalf("members of a set re-made after expiry = %v, want [c]", got)
	}
}

// TestMemoryStoreBigSet: a set outgrowing maxSmallSet keeps every member
// once, its expiry, and goes with Delete.
func TestMemoryStoreBigSet(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := NewMemoryStore(func() time.Time { return now })
	want := make(map[string]bool)
	for i := range 3 * maxSmallSet {
		m := fmt.Sprintf("member-%d", i)
		want[m] = true
		for range 2 { // adding twice keeps one
			if err := s.AddMember(ctx, "set", m, time.Duration(i+1)*time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, small := s.sets.get("set"); small || s.bigSets["set"] == nil {
		t.Fatalf("a set of %d members was not made a map", len(want))
	}
	got, _ := s.Members(ctx, "set")
	if len(got) != len(want) {
		t.Fatalf("%d members, want %d", len(got), len(want))
	}
	for _, m := range got {
		if !want[m] {
			t.Fatalf("unexpected member %q", m)
		}
	}
	now = now.Add(time.Duration(3*maxSmallSet)*time.Minute - time.Second)
	if got, _ := s.Members(ctx, "set"); len(got) != len(want) {
		t.Fatalf("before the longest ttl: %d members, want %d", len(got), len(want))
	}
	now = now.Add(time.Second)
	if got, _ := s.Members(ctx, "set"); got != nil {
		t.Fatalf("after the longest ttl: %v, want none", got)
	}
	for range maxSmallSet + 1 {
		if err := s.AddMember(ctx, "set2", rand.Text(), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "set2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Members(ctx, "set2"); got != nil || s.Len() != 0 {
		t.Fatalf("after Delete: members %v, Len %d", got, s.Len())
	}
}

// TestMemoryStoreLongTTL: a TTL beyond the year 2262 keeps the entry
// rather than overflowing into the past.
func TestMemoryStoreLongTTL(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(nil)
	if err := s.Put(ctx, "k", []byte("v"), time.Duration(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, "set", "m", time.Duration(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Get(ctx, "k"); !found {
		t.Error("a value put with the longest TTL is gone")
	}
	if m, _ := s.Members(ctx, "set"); len(m) != 1 {
		t.Error("a set kept with the longest TTL is gone")
	}
}
