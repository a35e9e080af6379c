// Package storetest holds conformance tests for implementations of
// oidcmw.Store, shared by the in-memory store and the adapters.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
)

// ttl is long enough that no entry expires while a test runs.
const ttl = time.Hour

// Run checks that the stores returned by newStore behave as oidcmw.Store
// documents. Each subtest calls newStore once and uses only its own keys.
//
// Expiry is tested only through ttl <= 0, which must leave the key
// reporting "not found" (the store may delete the key or keep an entry that
// is already expired), so the tests do not depend on a clock.
func Run(t *testing.T, newStore func() oidcmw.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, oidcmw.Store)
	}{
		{"PutGet", testPutGet},
		{"GetMissing", testGetMissing},
		{"Overwrite", testOverwrite},
		{"PutCopiesValue", testPutCopiesValue},
		{"EmptyValue", testEmptyValue},
		{"Expired", testExpired},
		{"ExpiredReplaces", testExpiredReplaces},
		{"Take", testTake},
		{"TakeMissing", testTakeMissing},
		{"TakeOnce", testTakeOnce},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"KeysIndependent", testKeysIndependent},
		{"KeyLengths", testKeyLengths},
		{"Add", testAdd},
		{"AddOnce", testAddOnce},
		{"Replace", testReplace},
		{"Sets", testSets},
		{"AddMemberConcurrent", testAddMemberConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh key prefix per subtest: a shared server (Redis) keeps
			// keys between subtests and between runs.
			tt.fn(t, prefixed{newStore(), "storetest:" + rand.Text() + ":"})
		})
	}
}

// prefixed puts a prefix before every key.
type prefixed struct {
	oidcmw.Store
	p string
}

func (s prefixed) Put(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return s.Store.Put(ctx, s.p+k, v, ttl)
}

func (s prefixed) Get(ctx context.Context, k string) ([]byte, bool, error) {
	return s.Store.Get(ctx, s.p+k)
}

func (s prefixed) Take(ctx context.Context, k string) ([]byte, bool, error) {
	return s.Store.Take(ctx, s.p+k)
}

func (s prefixed) Delete(ctx context.Context, k string) error { return s.Store.Delete(ctx, s.p+k) }

func (s prefixed) Add(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	return s.Store.Add(ctx, s.p+k, v, ttl)
}

func (s prefixed) Replace(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	return s.Store.Replace(ctx, s.p+k, v, ttl)
}

func (s prefixed) AddMember(ctx context.Context, k, m string, ttl time.Duration) error {
	return s.Store.AddMember(ctx, s.p+k, m, ttl)
}

func (s prefixed) Members(ctx context.Context, k string) ([]string, error) {
	return s.Store.Members(ctx, s.p+k)
}

func put(t *testing.T, s oidcmw.Store, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Put(context.Background(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Put(%q, %q, %v) = %v", key, value, ttl, err)
	}
}

// wantGet checks Get(key): want == "" means "not found".
func wantGet(t *testing.T, s oidcmw.Store, key, want string) {
	t.Helper()
	got, found, err := s.Get(context.Background(), key)
	check(t, "Get", key, got, found, err, want)
}

// wantTake checks Take(key): want == "" means "not found".
func wantTake(t *testing.T, s oidcmw.Store, key, want string) {
	t.Helper()
	got, found, err := s.Take(context.Background(), key)
	check(t, "Take", key, got, found, err, want)
}

func check(t *testing.T, op, key string, got []byte, found bool, err error, want string) {
	t.Helper()
	switch {
	case err != nil:
		t.Fatalf("%s(%q): error %v", op, key, err)
	case want == "" && found:
		t.Fatalf("%s(%q) = %q, want not found", op, key, got)
	case want != "" && !found:
		t.Fatalf("%s(%q): not found, want %q", op, key, want)
	case want != "" && string(got) != want:
		t.Fatalf("%s(%q) = %q, want %q", op, key, got, want)
	}
}

func testPutGet(t *testing.T, s oidcmw.Store) {
	put(t, s, "k", "v", ttl)
	wantGet(t, s, "k", "v")
	wantGet(t, s, "k", "v") // Get does not consume
}

func testGetMissing(t *testing.T, s oidcmw.Store) {
	wantGet(t, s, "missing", "")
}

func testOverwrite(t *testing.T, s oidcmw.Store) {
	put(t, s, "k", "v1", ttl)
	put(t, s, "k", "v2", ttl)
	wantGet(t, s, "k", "v2")
}

func testPutCopiesValue(t *testing.T, s oidcmw.Store) {
	v := []byte("value")
	if err := s.Put(context.Background(), "k", v, ttl); err != nil {
		t.Fatalf("Put: %v", err)
	}
	copy(v, "XXXXX")
	wantGet(t, s, "k", "value")
}

func testEmptyValue(t *testing.T, s oidcmw.Store) {
	if err := s.Put(context.Background(), "k", nil, ttl); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, found, err := s.Get(context.Background(), "k")
	if err != nil || !found || len(got) != 0 {
		t.Fatalf("Get = %q, %v, %v; want empty, true, nil", got, found, err)
	}
}

func testExpired(t *testing.T, s oidcmw.Store) {
	put(t, s, "zero", "v", 0)
	put(t, s, "negative", "v", -time.Second)
	wantGet(t, s, "zero", "")
	wantGet(t, s, "negative", "")
	wantTake(t, s, "zero", "")
	wantTake(t, s, "negative", "")
}

func testExpiredReplaces(t *testing.T, s oidcmw.Store) {
	put(t, s, "k", "v", ttl)
	put(t, s, "k", "v", -time.Second)
	wantGet(t, s, "k", "")
	wantTake(t, s, "k", "")
}

func testTake(t *testing.T, s oidcmw.Store) {
	put(t, s, "k", "v", ttl)
	wantTake(t, s, "k", "v")
	wantTake(t, s, "k", "")
	wantGet(t, s, "k", "")
}

func testTakeMissing(t *testing.T, s oidcmw.Store) {
	wantTake(t, s, "missing", "")
}

// testTakeOnce races 50 goroutines on Take for one key, several times: each
// round must have exactly one winner, which gets the stored value.
func testTakeOnce(t *testing.T, s oidcmw.Store) {
	const goroutines = 50
	for round := range 5 {
		key := fmt.Sprintf("once-%d", round)
		put(t, s, key, key, ttl)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners int
			errs    []error
		)
		start := make(chan struct{})
		for range goroutines {
			wg.Go(func() {
				<-start
				v, found, err := s.Take(context.Background(), key)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case found && !bytes.Equal(v, []byte(key)):
					errs = append(errs, fmt.Errorf("Take(%q) = %q", key, v))
				case found:
					winners++
				}
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if winners != 1 {
			t.Fatalf("round %d: %d of %d concurrent Takes found the key, want exactly 1", round, winners, goroutines)
		}
	}
}

func testDelete(t *testing.T, s oidcmw.Store) {
	put(t, s, "k", "v", ttl)
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantGet(t, s, "k", "")
	wantTake(t, s, "k", "")
}

func testDeleteMissing(t *testing.T, s oidcmw.Store) {
	if err := s.Delete(context.Background(), "missing"); err != nil {
		t.Fatalf("Delete of a missing key = %v, want nil", err)
	}
}

func testKeysIndependent(t *testing.T, s oidcmw.Store) {
	put(t, s, "a", "1", ttl)
	put(t, s, "b", "2", ttl)
	wantTake(t, s, "a", "1")
	wantGet(t, s, "b", "2")
	if err := s.Delete(context.Background(), "b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	put(t, s, "a", "3", ttl)
	wantGet(t, s, "a", "3")
	wantGet(t, s, "b", "")
}

// testKeyLengths uses keys of every length around 64 bytes (with the
// prefix), up to 300 bytes, and keys that differ only in a trailing NUL:
// a store may keep short keys differently from long ones.
func testKeyLengths(t *testing.T, s oidcmw.Store) {
	ctx := context.Background()
	var keys []string
	for n := 1; n <= 40; n++ {
		keys = append(keys, strings.Repeat("k", n))
	}
	keys = append(keys, strings.Repeat("k", 100), strings.Repeat("k", 300), "k\x00", "k\x00\x00")
	for i, k := range keys {
		put(t, s, k, strconv.Itoa(i), ttl)
	}
	for i, k := range keys {
		wantGet(t, s, k, strconv.Itoa(i))
	}
	for i, k := range keys {
		if i%2 == 0 {
			wantTake(t, s, k, strconv.Itoa(i))
		} else if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
		wantGet(t, s, k, "")
		if !add(t, s, k, "again", ttl) {
			t.Fatalf("Add(%q) after removal reported not added", k)
		}
		if add(t, s, k, "twice", ttl) {
			t.Fatalf("Add(%q) of a live key reported added", k)
		}
	}
	for _, k := range keys {
		wantGet(t, s, k, "again")
	}
}

func add(t *testing.T, s oidcmw.Store, key, value string, ttl time.Duration) bool {
	t.Helper()
	added, err := s.Add(context.Background(), key, []byte(value), ttl)
	if err != nil {
		t.Fatalf("Add(%q): %v", key, err)
	}
	return added
}

func testAdd(t *testing.T, s oidcmw.Store) {
	if !add(t, s, "k", "first", ttl) {
		t.Fatal("Add to a missing key did not add")
	}
	if add(t, s, "k", "second", ttl) {
		t.Fatal("Add to a present key added")
	}
	wantGet(t, s, "k", "first")
	put(t, s, "gone", "v", -time.Second)
	if !add(t, s, "gone", "v2", ttl) {
		t.Fatal("Add over an expired value did not add")
	}
	wantGet(t, s, "gone", "v2")
	wantTake(t, s, "k", "first")
	if !add(t, s, "k", "third", ttl) {
		t.Fatal("Add after Take did not add")
	}
}

// testReplace: Replace writes only over a live value, so that a key
// deleted meanwhile (a logout during a refresh) stays deleted.
func testReplace(t *testing.T, s oidcmw.Store) {
	replace := func(key, value string) bool {
		t.Helper()
		ok, err := s.Replace(context.Background(), key, []byte(value), ttl)
		if err != nil {
			t.Fatalf("Replace(%q) = %v", key, err)
		}
		return ok
	}
	if replace("missing", "v") {
		t.Fatal("Replace of a missing key replaced")
	}
	wantGet(t, s, "missing", "")
	put(t, s, "k", "first", ttl)
	if !replace("k", "second") {
		t.Fatal("Replace of a present key did not replace")
	}
	wantGet(t, s, "k", "second")
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if replace("k", "third") {
		t.Fatal("Replace after Delete replaced: a logout would be undone")
	}
	wantGet(t, s, "k", "")
	put(t, s, "gone", "v", -time.Second)
	if replace("gone", "v2") {
		t.Fatal("Replace of an expired value replaced")
	}
	wantGet(t, s, "gone", "")
}

// testAddOnce races 50 goroutines on Add for one key: exactly one adds.
func testAddOnce(t *testing.T, s oidcmw.Store) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := 0
	start := make(chan struct{})
	for i := range 50 {
		wg.Go(func() {
			<-start
			ok, err := s.Add(context.Background(), "lease", []byte(fmt.Sprint(i)), ttl)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if added != 1 {
		t.Fatalf("%d of 50 concurrent Adds added, want 1", added)
	}
}

func members(t *testing.T, s oidcmw.Store, key string) []string {
	t.Helper()
	m, err := s.Members(context.Background(), key)
	if err != nil {
		t.Fatalf("Members(%q): %v", key, err)
	}
	slices.Sort(m)
	return m
}

func testSets(t *testing.T, s oidcmw.Store) {
	ctx := context.Background()
	if m := members(t, s, "set"); len(m) != 0 {
		t.Fatalf("Members of a missing set = %q", m)
	}
	for _, m := range []string{"b", "a", "b"} {
		if err := s.AddMember(ctx, "set", m, ttl); err != nil {
			t.Fatal(err)
		}
	}
	if m := members(t, s, "set"); !slices.Equal(m, []string{"a", "b"}) {
		t.Fatalf("Members = %q, want [a b]", m)
	}
	// A short ttl does not shorten the set's life.
	if err := s.AddMember(ctx, "set", "c", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if m := members(t, s, "set"); len(m) != 3 {
		t.Fatalf("Members after a short-ttl add = %q", m)
	}
	if err := s.Delete(ctx, "set"); err != nil {
		t.Fatal(err)
	}
	if m := members(t, s, "set"); len(m) != 0 {
		t.Fatalf("Members after Delete = %q", m)
	}
}

// testAddMemberConcurrent: 50 concurrent adds to one set all stay.
func testAddMemberConcurrent(t *testing.T, s oidcmw.Store) {
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := s.AddMember(context.Background(), "set", fmt.Sprintf("m%02d", i), ttl); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := members(t, s, "set"); len(m) != 50 {
		t.Fatalf("%d members after 50 concurrent adds", len(m))
	}
}
