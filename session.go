package oidcmw

import (
	"context"
	"sync"
	"time"
)

// Store keeps pending logins and sessions on the server side. The browser
// only ever holds an opaque identifier; tokens stay in the Store.
//
// Keys are short ASCII strings chosen by the middleware (a prefix and a
// random or hashed identifier). Values are opaque byte slices.
//
// A Store must be safe for concurrent use. "Not found" (including an
// expired entry) is reported as found == false with a nil error; an error
// means the store could not answer, and the middleware then fails closed
// with 503.
type Store interface {
	// Put stores value under key for ttl, replacing any previous value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value stored under key. The caller must not modify
	// the returned slice, and the store must not change it afterwards
	// either (return a copy, or an immutable slice as MemoryStore does):
	// the middleware reads a session from it without copying.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Take returns the value stored under key and deletes it, atomically:
	// of several concurrent calls for one key, at most one finds it.
	Take(ctx context.Context, key string) (value []byte, found bool, err error)
	// Add stores value under key for ttl only if key holds no live value,
	// atomically: of concurrent Adds for one key at most one reports added.
	// The middleware uses it for replay caches and refresh leases.
	Add(ctx context.Context, key string, value []byte, ttl time.Duration) (added bool, err error)
	// Delete removes key, a value or a set. Deleting a missing key is not
	// an error.
	Delete(ctx context.Context, key string) error
	// AddMember adds member to the set under key and keeps the set for at
	// least ttl from now. Adding is atomic: concurrent adds are all kept.
	// The middleware indexes sessions by provider session (sid) and
	// subject with it, for back-channel logout.
	AddMember(ctx context.Context, key, member string, ttl time.Duration) error
	// Members returns the members of the set under key, none when there is
	// no set.
	Members(ctx context.Context, key string) ([]string, error)
}

// MemoryStore is the default [Store]: a map in process memory, safe for
// concurrent use. Expired entries are never returned and are evicted by a
// sweep that runs, at most once per minute, inside Put. Entries are lost when
// the process stops and are not shared between instances; use an adapter
// such as adapters/scsstore for that.
type MemoryStore struct {
	mu        sync.RWMutex
	items     map[string]memItem
	sets      map[string]memSet
	now       func() time.Time
	nextSweep time.Time
}

type memSet struct {
	members map[string]struct{}
	expires time.Time
}

type memItem struct {
	value   []byte
	expires time.Time
}

// NewMemoryStore returns an empty [MemoryStore]. now may be nil (time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{items: make(map[string]memItem), sets: make(map[string]memSet), now: now}
}

// Put implements [Store].
func (s *MemoryStore) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	now := s.now()
	v := make([]byte, len(value))
	copy(v, value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.items[key] = memItem{value: v, expires: now.Add(ttl)}
	return nil
}

// sweep evicts expired entries, at most once a minute; s.mu is held.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	for k, it := range s.items {
		if !now.Before(it.expires) {
			delete(s.items, k)
		}
	}
	for k, set := range s.sets {
		if !now.Before(set.expires) {
			delete(s.sets, k)
		}
	}
	s.nextSweep = now.Add(time.Minute)
}

// Add implements [Store].
func (s *MemoryStore) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok && now.Before(it.expires) {
		return false, nil
	}
	s.sweep(now)
	s.items[key] = memItem{value: append([]byte(nil), value...), expires: now.Add(ttl)}
	return true, nil
}

// AddMember implements [Store].
func (s *MemoryStore) AddMember(_ context.Context, key, member string, ttl time.Duration) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.sets[key]
	if !ok || !now.Before(set.expires) {
		set = memSet{members: make(map[string]struct{})}
	}
	set.members[member] = struct{}{}
	if exp := now.Add(ttl); exp.After(set.expires) {
		set.expires = exp
	}
	s.sets[key] = set
	return nil
}

// Members implements [Store].
func (s *MemoryStore) Members(_ context.Context, key string) ([]string, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	set, ok := s.sets[key]
	if !ok || !now.Before(set.expires) {
		return nil, nil
	}
	out := make([]string, 0, len(set.members))
	for m := range set.members {
		out = append(out, m)
	}
	return out, nil
}

// Get implements [Store].
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.RLock()
	it, ok := s.items[key]
	s.mu.RUnlock()
	if !ok || !s.now().Before(it.expires) {
		return nil, false, nil
	}
	return it.value, true, nil
}

// Take implements [Store].
func (s *MemoryStore) Take(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	it, ok := s.items[key]
	if ok {
		delete(s.items, key)
	}
	s.mu.Unlock()
	if !ok || !s.now().Before(it.expires) {
		return nil, false, nil
	}
	return it.value, true, nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	delete(s.items, key)
	delete(s.sets, key)
	s.mu.Unlock()
	return nil
}

// Len reports how many entries the store holds, expired ones included until
// the next sweep. It is meant for tests and metrics.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items) + len(s.sets)
}
