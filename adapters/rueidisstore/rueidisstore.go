// Package rueidisstore keeps oidcmw's pending logins, sessions, refresh
// leases, replay caches and back-channel logout index in Redis, like
// adapters/redisstore, and reads sessions through Redis server-assisted
// client-side caching (RESP3 CLIENT TRACKING, Redis 6+), so that an
// authenticated request usually costs no round trip.
//
// It uses github.com/redis/rueidis, the Redis client (kept by Redis) built
// around client-side caching. Get is a cached GET: the first read of a key
// asks the server, which then reports changes of that key to this client;
// later reads answer from process memory until such a report arrives (a
// refresh, a logout or an expiry, by any instance) or the cache TTL
// passes. The report is a push message on the connection, so a logout on
// one instance reaches the others' caches as soon as it is read, typically
// well under a millisecond on a local network; a connection that drops
// takes its cache with it. Everything else (Take, Add, Put, Delete, sets)
// goes to the server, and Get skips the cache for a second after this
// Store wrote a key, so that a process reads its own writes (give the
// middlewares of one process one Store).
//
// The middleware makes the reads that decide a write (the session reread
// under the refresh lease, the session read at logout) with GetFresh
// ([oidcmw.FreshGetter]), past the cache: a session another instance has
// just refreshed is never refreshed again with its rotated refresh token.
//
//	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
//	// ...
//	m, err := oidcmw.New(oidcmw.Options{
//		// ...
//		Store:      rueidisstore.New(client, 0),
//		SecretKeys: [][]byte{secret}, // seal tokens at rest
//	})
package rueidisstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

const (
	// DefaultCacheTTL bounds how long a value read by Get is served from
	// the client-side cache without the server being asked again.
	DefaultCacheTTL = time.Minute
	// OpTimeout bounds each operation whose context has no deadline.
	// rueidis retries read-only commands on a broken connection until the
	// context ends; with Redis down, the middleware answers 503 after at
	// most this long instead of waiting for Redis to come back.
	OpTimeout = 2 * time.Second
	// ownWriteWindow is how long Get reads a key this Store wrote from the
	// server: far longer than the server's invalidation takes to arrive.
	ownWriteWindow = time.Second
)

// Store implements oidcmw.Store and oidcmw.FreshGetter on a rueidis
// client. It is safe for concurrent use; errors wrap the client's and
// make the middleware answer 503 (fail closed).
type Store struct {
	c        rueidis.Client
	cacheTTL time.Duration

	mu        sync.Mutex
	written   map[string]time.Time // keys written here, and until when Get skips the cache
	nextSweep time.Time            // when expired entries of written are next dropped
}

// New returns a Store using c, which the caller configures (address, TLS,
// cache size) and closes. cacheTTL bounds the client-side caching of Get
// (0 means DefaultCacheTTL); a client made with DisableCache reads from
// the server every time.
func New(c rueidis.Client, cacheTTL time.Duration) *Store {
	if cacheTTL <= 0 {
		cacheTTL = DefaultCacheTTL
	}
	return &Store{c: c, cacheTTL: cacheTTL, written: make(map[string]time.Time)}
}

// Put stores value under key for ttl; ttl <= 0 deletes the key.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return s.Delete(ctx, key)
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	defer s.wrote(key)
	cmd := s.c.B().Set().Key(key).Value(rueidis.BinaryString(value)).PxMilliseconds(ms(ttl)).Build()
	return wrap(s.c.Do(ctx, cmd).Error())
}

// Get returns the value under key, from the client-side cache unless this
// Store wrote the key within the last second; found is false when there is
// none.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if s.recentlyWritten(key) {
		return s.GetFresh(ctx, key)
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	return result(s.c.DoCache(ctx, s.c.B().Get().Key(key).Cache(), s.cacheTTL).AsBytes())
}

// GetFresh returns the value under key as the server holds it now,
// bypassing the client-side cache (oidcmw.FreshGetter).
func (s *Store) GetFresh(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return result(s.c.Do(ctx, s.c.B().Get().Key(key).Build()).AsBytes())
}

// Take returns the value under key and deletes it, atomically (GETDEL).
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	defer s.wrote(key)
	return result(s.c.Do(ctx, s.c.B().Getdel().Key(key).Build()).AsBytes())
}

// Add stores value under key only if the key is absent (SET NX).
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return s.setIf(ctx, key, ttl, s.c.B().Set().Key(key).Value(rueidis.BinaryString(value)).Nx().PxMilliseconds(ms(ttl)).Build())
}

// Replace stores value under key only if the key is present (SET XX).
func (s *Store) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return s.setIf(ctx, key, ttl, s.c.B().Set().Key(key).Value(rueidis.BinaryString(value)).Xx().PxMilliseconds(ms(ttl)).Build())
}

// setIf runs a conditional SET and reports whether it set.
func (s *Store) setIf(ctx context.Context, key string, ttl time.Duration, cmd rueidis.Completed) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	defer s.wrote(key)
	err := s.c.Do(ctx, cmd).Error()
	switch {
	case rueidis.IsRedisNil(err):
		return false, nil
	case err != nil:
		return false, wrap(err)
	}
	return true, nil
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	defer s.wrote(key)
	return wrap(s.c.Do(ctx, s.c.B().Del().Key(key).Build()).Error())
}

// addMember adds to a set and extends its TTL, never shortening it, in one
// atomic step, as in adapters/redisstore.
var addMember = rueidis.NewLuaScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`)

// AddMember adds member to the set under key (SADD) and keeps the set for
// at least ttl.
func (s *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	return wrap(addMember.Exec(ctx, s.c, []string{key}, []string{member, strconv.FormatInt(ms(ttl), 10)}).Error())
}

// Members returns the set under key (SMEMBERS), from the server.
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	m, err := s.c.Do(ctx, s.c.B().Smembers().Key(key).Build()).AsStrSlice()
	return m, wrap(err)
}

// wrote remembers that this Store changed key, after the change.
func (s *Store) wrote(key string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.nextSweep) {
		for k, until := range s.written {
			if now.After(until) {
				delete(s.written, k)
			}
		}
		s.nextSweep = now.Add(ownWriteWindow)
	}
	s.written[key] = now.Add(ownWriteWindow)
}

func (s *Store) recentlyWritten(key string) bool {
	s.mu.Lock()
	until, ok := s.written[key]
	s.mu.Unlock()
	return ok && time.Now().Before(until)
}

// bound gives ctx a deadline OpTimeout from now unless it has one.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, OpTimeout)
}

// ms is d in whole milliseconds, at least 1.
func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

func result(b []byte, err error) ([]byte, bool, error) {
	switch {
	case rueidis.IsRedisNil(err):
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
	return fmt.Errorf("oidcmw: rueidisstore: %w", err)
}
