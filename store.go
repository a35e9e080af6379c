package oidcmw

import (
	"context"
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
	// Get returns the value stored under key. The caller does not modify
	// the returned slice, and copies what it keeps of it.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Take returns the value stored under key and deletes it, atomically:
	// of several concurrent calls for one key, at most one finds it.
	Take(ctx context.Context, key string) (value []byte, found bool, err error)
	// Add stores value under key for ttl only if key holds no live value,
	// atomically: of concurrent Adds for one key at most one reports added.
	// The middleware uses it for replay caches and refresh leases.
	Add(ctx context.Context, key string, value []byte, ttl time.Duration) (added bool, err error)
	// Replace stores value under key for ttl only if key holds a live
	// value, atomically, and reports whether it did: a key deleted (or
	// expired) meanwhile stays deleted. The middleware writes sessions
	// back after a refresh with it, so that a logout that deleted the
	// session while the refresh ran wins (Redis SET ... XX).
	Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (replaced bool, err error)
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

// FreshGetter is an optional interface of a [Store] whose Get answers from
// a cache that learns of changes made by other instances a little later
// (as adapters/rueidisstore does). GetFresh reads past the cache. The
// middleware uses it for the reads that decide a write: the session reread
// under the refresh lease (a stale session would redeem a rotated refresh
// token twice), the lease check while another instance holds the lease,
// and the session read at logout.
type FreshGetter interface {
	GetFresh(ctx context.Context, key string) (value []byte, found bool, err error)
}
