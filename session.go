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
	// the returned slice.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Take returns the value stored under key and deletes it, atomically:
	// of several concurrent calls for one key, at most one finds it.
	Take(ctx context.Context, key string) (value []byte, found bool, err error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// MemoryStore is the default [Store]: a map in process memory, safe for
// concurrent use. Expired entries are never returned and are evicted by a
// sweep that runs, at most once per minute, inside Put. Entries are lost when
// the process stops and are not shared between instances; use an adapter
// such as adapters/scsstore for that.
type MemoryStore struct {
	mu        sync.RWMutex
	items     map[string]memItem
	now       func() time.Time
	nextSweep time.Time
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
	return &MemoryStore{items: make(map[string]memItem), now: now}
}

// Put implements [Store].
func (s *MemoryStore) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	now := s.now()
	v := make([]byte, len(value))
	copy(v, value)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(s.nextSweep) {
		for k, it := range s.items {
			if !now.Before(it.expires) {
				delete(s.items, k)
			}
		}
		s.nextSweep = now.Add(time.Minute)
	}
	s.items[key] = memItem{value: v, expires: now.Add(ttl)}
	return nil
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
	s.mu.Unlock()
	return nil
}

// Len reports how many entries the store holds, expired ones included until
// the next sweep. It is meant for tests and metrics.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}
