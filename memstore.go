package oidcmw

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is the default [Store]: process memory, safe for concurrent
// use. Expired entries are never returned and are evicted by a sweep that
// runs, at most once per minute, inside the writing methods. Entries are
// lost when the process stops and are not shared between instances; use an
// adapter such as adapters/redisstore for that.
//
// Put and Add keep a copy of the value; Get and Take return that copy, which
// the caller must not modify.
type MemoryStore struct {
	mu        sync.RWMutex
	items     map[string]memItem
	sets      map[string]memSet
	now       func() time.Time
	nextSweep time.Time
}

type memItem struct {
	value   []byte
	expires int64 // unix nanoseconds
}

// memSet is a set, held in the map by value: a slice while it is small (a session's sid and subject
// index hold one or a few members), a map once it grows (a subject with
// many sessions), so that adding stays cheap either way.
type memSet struct {
	small   []string
	big     map[string]struct{}
	expires int64
}

// maxSmallSet is how many members a set keeps in its slice.
const maxSmallSet = 16

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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.items[key] = memItem{value: bytes.Clone(value), expires: expiry(now, ttl)}
	return nil
}

// Add implements [Store].
func (s *MemoryStore) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok && now.UnixNano() < it.expires {
		return false, nil
	}
	s.sweep(now)
	s.items[key] = memItem{value: bytes.Clone(value), expires: expiry(now, ttl)}
	return true, nil
}

// Replace implements [Store].
func (s *MemoryStore) Replace(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; !ok || now.UnixNano() >= it.expires {
		return false, nil
	}
	s.items[key] = memItem{value: bytes.Clone(value), expires: expiry(now, ttl)}
	return true, nil
}

// Get implements [Store].
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	now := s.now().UnixNano()
	s.mu.RLock()
	it, ok := s.items[key]
	s.mu.RUnlock()
	if !ok || now >= it.expires {
		return nil, false, nil
	}
	return it.value, true, nil
}

// Take implements [Store].
func (s *MemoryStore) Take(_ context.Context, key string) ([]byte, bool, error) {
	now := s.now().UnixNano()
	s.mu.Lock()
	it, ok := s.items[key]
	delete(s.items, key)
	s.mu.Unlock()
	if !ok || now >= it.expires {
		return nil, false, nil
	}
	return it.value, true, nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, key)
	delete(s.sets, key)
	return nil
}

// AddMember implements [Store].
func (s *MemoryStore) AddMember(_ context.Context, key, member string, ttl time.Duration) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	set, ok := s.sets[key]
	if !ok || now.UnixNano() >= set.expires {
		set = memSet{}
	}
	defer func() { s.sets[key] = set }()
	set.expires = max(set.expires, expiry(now, ttl))
	switch {
	case set.big != nil:
		set.big[member] = struct{}{}
	case slices.Contains(set.small, member):
	case len(set.small) < maxSmallSet:
		set.small = append(set.small, member)
	default:
		set.big = make(map[string]struct{}, 2*maxSmallSet)
		for _, m := range set.small {
			set.big[m] = struct{}{}
		}
		set.big[member] = struct{}{}
		set.small = nil
	}
	return nil
}

// Members implements [Store].
func (s *MemoryStore) Members(_ context.Context, key string) ([]string, error) {
	now := s.now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	set, ok := s.sets[key]
	if !ok || now >= set.expires {
		return nil, nil
	}
	if set.big == nil {
		return slices.Clone(set.small), nil
	}
	out := make([]string, 0, len(set.big))
	for m := range set.big {
		out = append(out, m)
	}
	return out, nil
}

// Len reports how many entries the store holds, expired ones included until
// the next sweep. It is meant for tests and metrics.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items) + len(s.sets)
}

// sweep evicts expired entries, at most once a minute; s.mu is held.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(time.Minute)
	n := now.UnixNano()
	for k, it := range s.items {
		if n >= it.expires {
			delete(s.items, k)
		}
	}
	for k, set := range s.sets {
		if n >= set.expires {
			delete(s.sets, k)
		}
	}
}

// maxTTL keeps expiry times within what UnixNano represents (until 2262).
const maxTTL = 100 * 365 * 24 * time.Hour

func expiry(now time.Time, ttl time.Duration) int64 { return now.Add(min(ttl, maxTTL)).UnixNano() }
