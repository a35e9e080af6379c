package oidcmw

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"time"
)

// MemoryStore is the default [Store]: process memory, safe for concurrent
// use. Expired entries are never returned and are evicted by a sweep that
// runs, at most once per minute, inside the writing methods. Entries are
// lost when the process stops and are not shared between instances; use an
// adapter such as adapters/redisstore for that.
//
// Values and sets live in a few large byte chunks, and the index holds no
// pointers, so the garbage collector has nothing per entry to mark: a
// million sessions cost a collection about what ten thousand do (see
// docs/BENCHMARKS.md, GuardSessions). Bytes are never rewritten in place:
// a replaced or deleted value stays readable by whoever holds it, and its
// chunk is compacted by the sweep once half of it is unused.
type MemoryStore struct {
	mu        sync.RWMutex
	items     table
	sets      table // a small set: a value of length-prefixed members
	bigSets   map[string]*bigSet
	mem       arena
	now       func() time.Time
	nextSweep time.Time
}

// NewMemoryStore returns an empty [MemoryStore]. now may be nil (time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{
		items:   newTable(),
		sets:    newTable(),
		bigSets: make(map[string]*bigSet),
		mem:     arena{cur: noChunk},
		now:     now,
	}
}

// maxSmallSet is how many members a set keeps in the chunks; adding one
// copies them. A larger set (a subject with many sessions) becomes a map.
const maxSmallSet = 16

type bigSet struct {
	members map[string]struct{}
	expires int64
}

var errValueTooLarge = errors.New("oidcmw: value too large for MemoryStore")

// Put implements [Store].
func (s *MemoryStore) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if uint64(len(value)) > math.MaxUint32 {
		return errValueTooLarge
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.replace(&s.items, key, s.mem.put(value, expiry(now, ttl)))
	return nil
}

// Add implements [Store].
func (s *MemoryStore) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if uint64(len(value)) > math.MaxUint32 {
		return false, errValueTooLarge
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.items.get(key); ok && e.live(now) {
		return false, nil
	}
	s.sweep(now)
	s.replace(&s.items, key, s.mem.put(value, expiry(now, ttl)))
	return true, nil
}

// Get implements [Store].
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.RLock()
	e, ok := s.items.get(key)
	var v []byte
	if ok {
		v = s.mem.bytes(e)
	}
	s.mu.RUnlock()
	if !ok || !e.live(s.now()) {
		return nil, false, nil
	}
	return v, true, nil
}

// Take implements [Store].
func (s *MemoryStore) Take(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	e, ok := s.items.get(key)
	var v []byte
	if ok {
		v = s.mem.bytes(e)
		s.items.del(key)
		s.mem.drop(e)
	}
	s.mu.Unlock()
	if !ok || !e.live(s.now()) {
		return nil, false, nil
	}
	return v, true, nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replace(&s.items, key, entry{})
	s.replace(&s.sets, key, entry{})
	delete(s.bigSets, key)
	return nil
}

// AddMember implements [Store].
func (s *MemoryStore) AddMember(_ context.Context, key, member string, ttl time.Duration) error {
	if uint64(len(member)) > math.MaxUint32/2 {
		return errValueTooLarge
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	exp := expiry(now, ttl)
	if big, ok := s.bigSets[key]; ok && now.UnixNano() < big.expires {
		big.members[member] = struct{}{}
		big.expires = max(big.expires, exp)
		return nil
	}
	delete(s.bigSets, key)
	var set []byte
	if e, ok := s.sets.get(key); ok && e.live(now) {
		set = s.mem.bytes(e)
		exp = max(exp, e.expires)
		if members(set, func(m []byte) bool { return string(m) == member }) {
			if exp == e.expires {
				return nil
			}
		} else if n := countMembers(set); n >= maxSmallSet {
			big := &bigSet{members: make(map[string]struct{}, 2*n), expires: exp}
			members(set, func(m []byte) bool { big.members[string(m)] = struct{}{}; return false })
			big.members[member] = struct{}{}
			s.replace(&s.sets, key, entry{})
			s.bigSets[key] = big
			return nil
		} else {
			set = appendMember(set, member) // set is capped: this copies
		}
	} else {
		set = appendMember(nil, member)
	}
	s.replace(&s.sets, key, s.mem.put(set, exp))
	return nil
}

// Members implements [Store].
func (s *MemoryStore) Members(_ context.Context, key string) ([]string, error) {
	now := s.now()
	var out []string
	s.mu.RLock()
	defer s.mu.RUnlock()
	if big, ok := s.bigSets[key]; ok {
		if now.UnixNano() >= big.expires {
			return nil, nil
		}
		out = make([]string, 0, len(big.members))
		for m := range big.members {
			out = append(out, m)
		}
		return out, nil
	}
	e, ok := s.sets.get(key)
	if !ok || !e.live(now) {
		return nil, nil
	}
	members(s.mem.bytes(e), func(m []byte) bool { out = append(out, string(m)); return false })
	return out, nil
}

// Len reports how many entries the store holds, expired ones included until
// the next sweep. It is meant for tests and metrics.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.items.len() + s.sets.len() + len(s.bigSets)
}

// replace stores e under key in t (none when e is the zero entry) and
// frees what key held; s.mu is held.
func (s *MemoryStore) replace(t *table, key string, e entry) {
	if old, ok := t.get(key); ok {
		s.mem.drop(old)
	}
	if e == (entry{}) {
		t.del(key)
		return
	}
	t.set(key, e)
}

// sweep evicts expired entries and moves live ones out of chunks that are
// mostly unused, at most once a minute; s.mu is held.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(time.Minute)
	for k, big := range s.bigSets {
		if now.UnixNano() >= big.expires {
			delete(s.bigSets, k)
		}
	}
	sparse := s.mem.sparse()
	for _, t := range []*table{&s.items, &s.sets} {
		t.each(func(e entry) (entry, bool) {
			if !e.live(now) {
				s.mem.drop(e)
				return entry{}, false
			}
			if sparse[e.chunk] {
				moved := s.mem.put(s.mem.bytes(e), e.expires)
				s.mem.drop(e)
				if s.mem.chunks[e.chunk].buf == nil {
					delete(sparse, e.chunk) // released: its number may be reused
				}
				return moved, true
			}
			return e, true
		})
	}
}

// maxTTL keeps expiry times within what UnixNano represents (until 2262).
const maxTTL = 100 * 365 * 24 * time.Hour

func expiry(now time.Time, ttl time.Duration) int64 { return now.Add(min(ttl, maxTTL)).UnixNano() }

// members calls f with each member of set until f reports true, and
// reports whether it did.
func members(set []byte, f func([]byte) bool) bool {
	for len(set) > 0 {
		n, w := binary.Uvarint(set)
		if f(set[w : w+int(n)]) {
			return true
		}
		set = set[w+int(n):]
	}
	return false
}

func countMembers(set []byte) int {
	n := 0
	members(set, func([]byte) bool { n++; return false })
	return n
}

func appendMember(set []byte, member string) []byte {
	set = binary.AppendUvarint(set, uint64(len(member)))
	return append(set, member...)
}
