package oidcmw

import (
	"context"
	"time"
)

// breakerStore is a Store whose calls go through the store's circuit.
type breakerStore struct {
	Store
	dep *dependency
}

// baseStore is the application's Store behind a breakerStore.
func baseStore(s Store) Store {
	if b, ok := s.(*breakerStore); ok {
		return b.Store
	}
	return s
}

func (s *breakerStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.dep.call(ctx, func() error { return s.Store.Put(ctx, key, value, ttl) })
}

func (s *breakerStore) Get(ctx context.Context, key string) (value []byte, found bool, err error) {
	err = s.dep.call(ctx, func() error {
		var err error
		value, found, err = s.Store.Get(ctx, key)
		return err
	})
	return value, found, err
}

// GetFresh reads past the Store's cache when it has one (FreshGetter).
func (s *breakerStore) GetFresh(ctx context.Context, key string) (value []byte, found bool, err error) {
	f, ok := s.Store.(FreshGetter)
	if !ok {
		return s.Get(ctx, key)
	}
	err = s.dep.call(ctx, func() error {
		var err error
		value, found, err = f.GetFresh(ctx, key)
		return err
	})
	return value, found, err
}

func (s *breakerStore) Take(ctx context.Context, key string) (value []byte, found bool, err error) {
	err = s.dep.call(ctx, func() error {
		var err error
		value, found, err = s.Store.Take(ctx, key)
		return err
	})
	return value, found, err
}

func (s *breakerStore) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (added bool, err error) {
	err = s.dep.call(ctx, func() error {
		var err error
		added, err = s.Store.Add(ctx, key, value, ttl)
		return err
	})
	return added, err
}

func (s *breakerStore) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (replaced bool, err error) {
	err = s.dep.call(ctx, func() error {
		var err error
		replaced, err = s.Store.Replace(ctx, key, value, ttl)
		return err
	})
	return replaced, err
}

func (s *breakerStore) Delete(ctx context.Context, key string) error {
	return s.dep.call(ctx, func() error { return s.Store.Delete(ctx, key) })
}

func (s *breakerStore) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	return s.dep.call(ctx, func() error { return s.Store.AddMember(ctx, key, member, ttl) })
}

func (s *breakerStore) Members(ctx context.Context, key string) (members []string, err error) {
	err = s.dep.call(ctx, func() error {
		var err error
		members, err = s.Store.Members(ctx, key)
		return err
	})
	return members, err
}
