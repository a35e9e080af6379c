package scsstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

var _ oidcmw.Store = (*Store)(nil)

// newMemstore returns a memstore without the cleanup goroutine, which
// would outlive the test.
func newMemstore() *memstore.MemStore {
	return memstore.NewWithCleanupInterval(0)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func() oidcmw.Store { return New(newMemstore()) })
}

func TestConformanceCtx(t *testing.T) {
	storetest.Run(t, func() oidcmw.Store { return New(&ctxStore{MemStore: newMemstore()}) })
}

// ctxStore is a memstore that implements scs.CtxStore and records the
// contexts it receives.
type ctxStore struct {
	*memstore.MemStore
	calls []string
	ctxOK bool
}

type ctxKey struct{}

func (s *ctxStore) seen(ctx context.Context, op string) {
	s.calls = append(s.calls, op)
	s.ctxOK = ctx.Value(ctxKey{}) == "v"
}

func (s *ctxStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	s.seen(ctx, "find")
	return s.Find(token)
}

func (s *ctxStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	s.seen(ctx, "commit")
	return s.Commit(token, b, expiry)
}

func (s *ctxStore) DeleteCtx(ctx context.Context, token string) error {
	s.seen(ctx, "delete")
	return s.Delete(token)
}

var _ scs.CtxStore = (*ctxStore)(nil)

func TestUsesCtxVariants(t *testing.T) {
	backend := &ctxStore{MemStore: newMemstore()}
	s := New(backend)
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	ops := []struct {
		name string
		do   func() error
	}{
		{"commit", func() error { return s.Put(ctx, "k", []byte("v"), time.Hour) }},
		{"find", func() error { _, _, err := s.Get(ctx, "k"); return err }},
		{"delete", func() error { return s.Delete(ctx, "k") }},
	}
	for _, op := range ops {
		backend.calls, backend.ctxOK = nil, false
		if err := op.do(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if len(backend.calls) != 1 || backend.calls[0] != op.name || !backend.ctxOK {
			t.Errorf("%s: backend saw %v (context passed on: %v), want one %sCtx call with the context",
				op.name, backend.calls, backend.ctxOK, op.name)
		}
	}
}

func TestPutNonPositiveTTLDeletes(t *testing.T) {
	backend := newMemstore()
	s := New(backend)
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	// The key is gone from the backend, not merely expired.
	all, err := backend.All()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all["k"]; ok || len(all) != 0 {
		t.Errorf("backend holds %v after Put with ttl 0, want nothing", all)
	}
}

func TestPutExpiry(t *testing.T) {
	backend := &expiryStore{}
	s := New(backend)
	before := time.Now()
	if err := s.Put(context.Background(), "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if backend.expiry.Before(before.Add(time.Hour)) || backend.expiry.After(after.Add(time.Hour)) {
		t.Errorf("Commit expiry = %v, want now + 1h (between %v and %v)", backend.expiry, before.Add(time.Hour), after.Add(time.Hour))
	}
}

// expiryStore records the expiry passed to Commit.
type expiryStore struct {
	expiry time.Time
}

func (s *expiryStore) Find(string) ([]byte, bool, error) { return nil, false, nil }
func (s *expiryStore) Delete(string) error               { return nil }
func (s *expiryStore) Commit(_ string, _ []byte, expiry time.Time) error {
	s.expiry = expiry
	return nil
}

var errBackend = errors.New("backend down")

// failStore is an scs.Store whose operations fail as configured.
type failStore struct {
	*memstore.MemStore
	failFind, failCommit, failDelete bool
}

func (s *failStore) Find(token string) ([]byte, bool, error) {
	if s.failFind {
		return nil, false, errBackend
	}
	return s.MemStore.Find(token)
}

func (s *failStore) Commit(token string, b []byte, expiry time.Time) error {
	if s.failCommit {
		return errBackend
	}
	return s.MemStore.Commit(token, b, expiry)
}

func (s *failStore) Delete(token string) error {
	if s.failDelete {
		return errBackend
	}
	return s.MemStore.Delete(token)
}

func TestBackendErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		fail func(*failStore)
		op   func(*Store) (found bool, err error)
	}{
		{"Put", func(f *failStore) { f.failCommit = true }, func(s *Store) (bool, error) {
			return false, s.Put(ctx, "k", []byte("v"), time.Hour)
		}},
		{"Get", func(f *failStore) { f.failFind = true }, func(s *Store) (bool, error) {
			_, found, err := s.Get(ctx, "k")
			return found, err
		}},
		{"Take find", func(f *failStore) { f.failFind = true }, func(s *Store) (bool, error) {
			_, found, err := s.Take(ctx, "k")
			return found, err
		}},
		// A Take whose delete fails must not hand out the value: it could
		// be taken again.
		{"Take delete", func(f *failStore) { f.failDelete = true }, func(s *Store) (bool, error) {
			_, found, err := s.Take(ctx, "k")
			return found, err
		}},
		{"Delete", func(f *failStore) { f.failDelete = true }, func(s *Store) (bool, error) {
			return false, s.Delete(ctx, "k")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := &failStore{MemStore: newMemstore()}
			s := New(backend)
			if err := s.Put(ctx, "k", []byte("v"), time.Hour); err != nil {
				t.Fatal(err)
			}
			tt.fail(backend)
			found, err := tt.op(s)
			if !errors.Is(err, errBackend) {
				t.Fatalf("error = %v, want one wrapping %v", err, errBackend)
			}
			if !strings.HasPrefix(err.Error(), "oidcmw: scsstore: ") {
				t.Errorf("error %q lacks the \"oidcmw: scsstore: \" prefix", err)
			}
			if found {
				t.Errorf("found = true alongside an error")
			}
		})
	}
}
