// Package redisstore keeps oidcmw's pending logins, sessions, refresh
// leases, replay caches and back-channel logout index in Redis
// (or Valkey), so that several instances of an app serve one user and
// sessions survive restarts.
//
// It uses github.com/redis/go-redis/v9: the most used Go Redis client, kept
// by Redis itself, whose UniversalClient covers a single server, Sentinel
// (failover) and Cluster with one type. Every operation touches one key, so
// Cluster slots never matter. Take is GETDEL (Redis 6.2+, Valkey 7.2+):
// atomic across all instances, so a replayed callback is redeemed at most
// once even when two instances race. Entries expire through Redis TTLs
// (SET with PX); no sweeper runs.
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	m, err := oidcmw.New(oidcmw.Options{
//		// ...
//		Store:      redisstore.New(client),
//		SecretKeys: [][]byte{secret}, // seal tokens at rest
//	})
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store implements oidcmw.Store on a go-redis client. It is safe for
// concurrent use; errors wrap the client's and make the middleware answer
// 503 (fail closed).
type Store struct {
	c redis.UniversalClient
}

// New returns a Store using c, which the caller configures (address,
// timeouts, TLS, pool) and closes.
func New(c redis.UniversalClient) *Store { return &Store{c: c} }

// Put stores value under key for ttl; ttl <= 0 deletes the key.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return s.Delete(ctx, key)
	}
	return wrap(s.c.Set(ctx, key, value, ttl).Err())
}

// Get returns the value under key; found is false when there is none.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return result(s.c.Get(ctx, key).Bytes())
}

// Take returns the value under key and deletes it, atomically (GETDEL).
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	return result(s.c.GetDel(ctx, key).Bytes())
}

// Add stores value under key only if the key is absent (SET NX).
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	ok, err := s.c.SetNX(ctx, key, value, ttl).Result()
	return ok, wrap(err)
}

// Replace stores value under key only if the key is present (SET XX).
func (s *Store) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	ok, err := s.c.SetXX(ctx, key, value, ttl).Result()
	return ok, wrap(err)
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	return wrap(s.c.Del(ctx, key).Err())
}

// addMember adds to a set and extends its TTL, never shortening it, in one
// atomic step (PEXPIRE's GT flag needs Redis 7; this works on 6.2 too).
var addMember = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`)

// AddMember adds member to the set under key (SADD) and keeps the set for
// at least ttl.
func (s *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	return wrap(addMember.Run(ctx, s.c, []string{key}, member, ttl.Milliseconds()).Err())
}

// Members returns the set under key (SMEMBERS).
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	m, err := s.c.SMembers(ctx, key).Result()
	return m, wrap(err)
}

func result(b []byte, err error) ([]byte, bool, error) {
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, wrap(err)
	}
	return b, true, nil
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("oidcmw: redisstore: %w", err)
}
