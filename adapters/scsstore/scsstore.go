// Package scsstore lets any session store written for
// github.com/alexedwards/scs/v2 (memstore, redisstore, pgxstore, mysqlstore,
// ...) serve as an oidcmw.Store for pending logins and sessions.
//
// Usage, with the in-process memstore:
//
//	store := scsstore.New(memstore.New())
//	m, err := oidcmw.New(oidcmw.Options{
//		// ...
//		Store: store,
//	})
//
// # Atomicity
//
// oidcmw.Store.Take must be atomic: of several concurrent calls for one key,
// at most one finds it. scs backends have no atomic get-and-delete, so Take
// is a Find followed by a Delete. Within one process, [Store] serialises the
// operations on each key with a mutex, so Take is atomic there. Across
// processes sharing one backend it is not: two instances that receive the
// same callback at the same moment can both find the pending login before
// either deletes it, and a replayed callback may then succeed twice. A
// shared backend such as redisstore is fine with one instance; with more,
// use a Store whose backend offers an atomic get-and-delete (such as Redis
// GETDEL) instead of this adapter. The same holds for Add and Replace: across
// instances, a logout on one can be undone by a refresh that was in flight
// on another when the logout came.
//
// # Expiry
//
// scs backends take an absolute expiry time. Put computes it as
// time.Now().Add(ttl); the backend then decides expiry with its own clock.
// Put with ttl <= 0 deletes the key, as the entry would already be expired.
package scsstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// stripes is the number of mutexes that serialise operations per key.
const stripes = 64

// Store adapts an scs.Store to oidcmw.Store. It is safe for concurrent use
// if the backend is, as all scs backends are. Create it with [New].
type Store struct {
	s    scs.Store
	ctx  scs.CtxStore // s, when it takes a context; else nil
	seed maphash.Seed
	mu   [stripes]sync.Mutex
}

// New returns a Store that keeps its entries in s. When s implements
// scs.CtxStore, the context passed to each method is handed on to the
// FindCtx, CommitCtx and DeleteCtx variants; otherwise it is ignored.
func New(s scs.Store) *Store {
	st := &Store{s: s, seed: maphash.MakeSeed()}
	st.ctx, _ = s.(scs.CtxStore)
	return st
}

// lock locks and returns the mutex for key.
func (st *Store) lock(key string) *sync.Mutex {
	mu := &st.mu[maphash.String(st.seed, key)%stripes]
	mu.Lock()
	return mu
}

// Put stores a copy of value under key for ttl, replacing any previous
// value. With ttl <= 0 it deletes key instead.
func (st *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return st.Delete(ctx, key)
	}
	v := make([]byte, len(value))
	copy(v, value)
	expiry := time.Now().Add(ttl)
	mu := st.lock(key)
	defer mu.Unlock()
	return st.commit(ctx, key, v, expiry)
}

func (st *Store) commit(ctx context.Context, key string, v []byte, expiry time.Time) error {
	var err error
	if st.ctx != nil {
		err = st.ctx.CommitCtx(ctx, key, v, expiry)
	} else {
		err = st.s.Commit(key, v, expiry)
	}
	if err != nil {
		return fmt.Errorf("oidcmw: scsstore: commit: %w", err)
	}
	return nil
}

// Get returns the value stored under key. Expired and missing entries are
// reported as found == false with a nil error. The caller must not modify
// the returned slice.
func (st *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, found, err := st.find(ctx, key)
	if err != nil || !found {
		return nil, false, err
	}
	return b, true, nil
}

// Take returns the value stored under key and deletes it. It is atomic
// within this process only; see the package documentation. If the delete
// fails, Take reports the error and not the value, so that a pending login
// can never be used twice.
func (st *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	mu := st.lock(key)
	defer mu.Unlock()
	b, found, err := st.find(ctx, key)
	if err != nil || !found {
		return nil, false, err
	}
	if err := st.delete(ctx, key); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Add stores value under key only if the key holds nothing. Like Take, it
// is atomic within this process only.
func (st *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	mu := st.lock(key)
	defer mu.Unlock()
	if _, found, err := st.find(ctx, key); err != nil || found {
		return false, err
	}
	return true, st.commit(ctx, key, bytes.Clone(value), time.Now().Add(ttl))
}

// Replace stores value under key only if the key holds a value. Like Take,
// it is atomic within this process only: across instances a logout on one
// can still be undone by a refresh in flight on another.
func (st *Store) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	mu := st.lock(key)
	defer mu.Unlock()
	if _, found, err := st.find(ctx, key); err != nil || !found {
		return false, err
	}
	return true, st.commit(ctx, key, bytes.Clone(value), time.Now().Add(ttl))
}

// AddMember adds member to the set under key, kept as one value holding
// the set's expiry and its members separated by newlines (members must not
// contain one). It is atomic within this process only.
func (st *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	if strings.Contains(member, "\n") {
		return fmt.Errorf("oidcmw: scsstore: set member contains a newline")
	}
	mu := st.lock(key)
	defer mu.Unlock()
	b, found, err := st.find(ctx, key)
	if err != nil {
		return err
	}
	expiry, members := decodeSet(b, found)
	if e := time.Now().Add(ttl); e.After(expiry) {
		expiry = e
	}
	if !slices.Contains(members, member) {
		members = append(members, member)
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(expiry.UnixNano()))
	v = append(v, strings.Join(members, "\n")...)
	return st.commit(ctx, key, v, expiry)
}

// Members returns the set under key.
func (st *Store) Members(ctx context.Context, key string) ([]string, error) {
	b, found, err := st.find(ctx, key)
	if err != nil {
		return nil, err
	}
	_, members := decodeSet(b, found)
	return members, nil
}

func decodeSet(b []byte, found bool) (time.Time, []string) {
	if !found || len(b) < 8 {
		return time.Time{}, nil
	}
	expiry := time.Unix(0, int64(binary.BigEndian.Uint64(b)))
	if len(b) == 8 {
		return expiry, nil
	}
	return expiry, strings.Split(string(b[8:]), "\n")
}

// Delete removes key. Deleting a missing key is not an error.
func (st *Store) Delete(ctx context.Context, key string) error {
	mu := st.lock(key)
	defer mu.Unlock()
	return st.delete(ctx, key)
}

func (st *Store) find(ctx context.Context, key string) (b []byte, found bool, err error) {
	if st.ctx != nil {
		b, found, err = st.ctx.FindCtx(ctx, key)
	} else {
		b, found, err = st.s.Find(key)
	}
	if err != nil {
		return nil, false, fmt.Errorf("oidcmw: scsstore: find: %w", err)
	}
	return b, found, nil
}

func (st *Store) delete(ctx context.Context, key string) error {
	var err error
	if st.ctx != nil {
		err = st.ctx.DeleteCtx(ctx, key)
	} else {
		err = st.s.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("oidcmw: scsstore: delete: %w", err)
	}
	return nil
}
