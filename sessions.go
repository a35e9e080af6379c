package oidcmw

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// sessions keeps signed-in sessions and pending logins in the Store: keys,
// records, sealing, timeouts and cookies. It is built once in New and
// knows no provider, token endpoint or handler: a session record is data.
//
// A session lives in the Store under a hash of its cookie value. It ends at
// the idle or the absolute timeout, whichever comes first; the store TTL is
// set to that moment on every write.
type sessions struct {
	store         Store
	seal          *sealer // nil: records stored as they are
	now           func() time.Time
	logger        *slog.Logger
	idle          time.Duration
	absolute      time.Duration
	refreshMargin time.Duration
	loginTimeout  time.Duration
	maxPending    int
	sessionName   string // session cookie name
	loginName     string // login (browser binding) cookie name prefix
	secure        bool   // RedirectURL is https: Secure cookies, __Host- prefix
	formPost      bool   // the callback is a cross-site POST: SameSite=None login cookies
}

// liveSession is a session read from the store.
type liveSession struct {
	key string // store key
	rec sessionRecord
	id  *Identity // rec.id with SessionExpiry, set by read; shared
	// read-only by concurrent requests of the session
}

// errSessionEnded: the session is over (timeout, refresh refused, subject
// changed); the request goes on as unauthenticated.
var errSessionEnded = errors.New("oidcmw: session ended")

// load returns the request's session, nil when there is none. It is the
// guard's hot path: one store read.
func (ss *sessions) load(r *http.Request) (*liveSession, error) {
	token := cookieValue(r, ss.sessionName)
	if !validToken(token) {
		return nil, nil
	}
	s := &liveSession{key: sessionKey(token)}
	found, err := ss.read(r.Context(), s, false)
	if err != nil || !found {
		return nil, err
	}
	return s, nil
}

// read (re)reads s.rec from the store; fresh reads past a store's cache
// (FreshGetter).
func (ss *sessions) read(ctx context.Context, s *liveSession, fresh bool) (bool, error) {
	var b []byte
	var found bool
	var err error
	if fresh {
		b, found, err = ss.getFresh(ctx, s.key)
	} else {
		b, found, err = ss.store.Get(ctx, s.key)
	}
	if err != nil {
		return false, storeError(err)
	}
	if !found {
		return false, nil
	}
	if err := ss.decode(b, s.key, &s.rec); err != nil {
		ss.logger.WarnContext(ctx, "oidcmw: ignoring unreadable session record", "err", err)
		return false, nil
	}
	s.rec.id.SessionExpiry = ss.end(&s.rec)
	s.id = &s.rec.id
	return true, nil
}

// getFresh reads key past the store's cache, if it has one.
func (ss *sessions) getFresh(ctx context.Context, key string) ([]byte, bool, error) {
	if f, ok := ss.store.(FreshGetter); ok {
		return f.GetFresh(ctx, key)
	}
	return ss.store.Get(ctx, key)
}

// end is when rec ends unless used again.
func (ss *sessions) end(rec *sessionRecord) time.Time {
	idle := time.Unix(rec.lastSeen, 0).Add(ss.idle)
	abs := time.Unix(rec.created, 0).Add(ss.absolute)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// write stores rec under key until its end.
func (ss *sessions) write(ctx context.Context, key string, rec *sessionRecord) error {
	ttl := ss.end(rec).Sub(ss.now())
	if ttl <= 0 {
		return ss.store.Delete(ctx, key)
	}
	return ss.store.Put(ctx, key, ss.seal.seal(rec.marshal(), key), ttl)
}

// rewrite stores rec under key until its end, only if the session is still
// there: a logout (or back-channel logout) that deleted it while a refresh
// ran wins, and rewrite reports errSessionEnded.
func (ss *sessions) rewrite(ctx context.Context, key string, rec *sessionRecord) error {
	ttl := ss.end(rec).Sub(ss.now())
	if ttl <= 0 {
		return ss.store.Delete(ctx, key)
	}
	replaced, err := ss.store.Replace(ctx, key, ss.seal.seal(rec.marshal(), key), ttl)
	switch {
	case err != nil:
		return storeError(err)
	case !replaced:
		return errSessionEnded
	}
	return nil
}

// create stores rec as a new session under a new id, indexes it for
// back-channel logout, and sets the cookie. A session the browser had
// before is deleted (session fixation).
func (ss *sessions) create(w http.ResponseWriter, r *http.Request, rec *sessionRecord) error {
	ctx := r.Context()
	now := ss.now().Unix()
	rec.created, rec.lastSeen = now, now
	token := rand.Text()
	key := sessionKey(token)
	for _, idx := range indexKeys(rec.id.Issuer, rec.sid, rec.id.Subject) {
		if err := ss.store.AddMember(ctx, idx, key, ss.absolute); err != nil {
			return storeError(err)
		}
	}
	if err := ss.write(ctx, key, rec); err != nil {
		return storeError(err)
	}
	if old := cookieValue(r, ss.sessionName); validToken(old) {
		if err := ss.store.Delete(ctx, sessionKey(old)); err != nil {
			ss.logger.WarnContext(ctx, "oidcmw: could not delete the previous session", "err", err)
		}
	}
	http.SetCookie(w, ss.sessionCookie(token))
	return nil
}

// endRequest deletes the request's session (read past a store's cache)
// and clears its cookie. It returns the ended session's identity (nil when
// there was none), unless the session is not owned (owns reports on its
// issuer): then foreign is true, and the identity of another provider's
// session stays unseen.
func (ss *sessions) endRequest(w http.ResponseWriter, r *http.Request, owns func(iss string) bool) (id *Identity, foreign bool, err error) {
	ctx := r.Context()
	if token := cookieValue(r, ss.sessionName); validToken(token) {
		key := sessionKey(token)
		if b, found, err := ss.getFresh(ctx, key); err == nil && found {
			var rec sessionRecord
			if ss.decode(b, key, &rec) == nil {
				foreign = !owns(rec.id.Issuer)
				id = &rec.id
			}
		}
		if err := ss.store.Delete(ctx, key); err != nil {
			return nil, false, storeError(err)
		}
	}
	clear := ss.sessionCookie("")
	clear.MaxAge = -1
	http.SetCookie(w, clear)
	if foreign {
		return nil, true, nil
	}
	return id, false, nil
}

// remove deletes an ended session; a failure is logged, the session ends
// at its TTL anyway.
func (ss *sessions) remove(ctx context.Context, key string) {
	if err := ss.store.Delete(ctx, key); err != nil {
		ss.logger.WarnContext(ctx, "oidcmw: could not delete an ended session", "err", err)
	}
}

// needsRefresh: the access token expires within the refresh margin and
// there is a refresh token.
func (ss *sessions) needsRefresh(rec *sessionRecord, now time.Time) bool {
	exp := rec.id.Expiry
	return rec.id.RefreshToken != "" && !exp.IsZero() && exp.Sub(now) <= ss.refreshMargin
}

// maxTouchStep: the idle timeout is this precise.
const maxTouchStep = 5 * time.Minute

// touchStep is how long a session goes between writes that move its idle
// timeout.
func (ss *sessions) touchStep() time.Duration { return min(ss.idle/10, maxTouchStep) }

// savePending stores a pending login, keyed by its state, and keeps the
// list of the browser's pending states within maxPending. The record
// outlives LoginTimeout a little (pendingGrace).
func (ss *sessions) savePending(ctx context.Context, rec *pendingRecord) error {
	pkey := pendingKey(rec.state)
	if err := ss.store.Put(ctx, pkey, ss.seal.seal(rec.marshal(), pkey), ss.loginTimeout+pendingGrace); err != nil {
		return storeError(err)
	}
	return ss.capPending(ctx, rec.binding, rec.state)
}

// capPending keeps the list of one browser's pending states and drops the
// oldest beyond maxPending. The list is advisory: losing an update to a
// concurrent login only loosens the cap; every pending login still
// expires.
func (ss *sessions) capPending(ctx context.Context, binding, state string) error {
	key := bindingKey(binding)
	b, _, err := ss.store.Get(ctx, key)
	if err != nil {
		return storeError(err)
	}
	states := append(strings.Fields(string(b)), state)
	if drop := len(states) - ss.maxPending; drop > 0 {
		for _, s := range states[:drop] {
			if err := ss.store.Delete(ctx, pendingKey(s)); err != nil {
				return storeError(err)
			}
		}
		states = slices.Delete(states, 0, drop)
	}
	if err := ss.store.Put(ctx, key, []byte(strings.Join(states, " ")), ss.loginTimeout+pendingGrace); err != nil {
		return storeError(err)
	}
	return nil
}

// takePending takes the pending login of state (one-time). A missing or
// unreadable record is ErrStateMismatch; a store failure is an outage.
func (ss *sessions) takePending(ctx context.Context, state string) (*pendingRecord, error) {
	pkey := pendingKey(state)
	b, found, err := ss.store.Take(ctx, pkey)
	if err != nil {
		return nil, storeError(err)
	}
	var rec pendingRecord
	if !found || ss.decode(b, pkey, &rec) != nil || !validToken(rec.binding) {
		return nil, ErrStateMismatch
	}
	return &rec, nil
}

// takeLogin takes the pending login named by state and checks that it
// has not expired, was started for this provider, and by this browser.
func (ss *sessions) takeLogin(r *http.Request, state, issuer string) (*pendingRecord, error) {
	if !validToken(state) {
		return nil, ErrStateMismatch
	}
	// No comparison of rec.state with state here: the record was found
	// under pendingKey(state), and the grant compares the state of the
	// response with rec.state (constant time) before anything is redeemed.
	rec, err := ss.takePending(r.Context(), state)
	switch {
	case err != nil:
		return nil, err
	case ss.now().UnixNano() >= rec.expires:
		return nil, ErrLoginExpired
	case rec.issuer != issuer:
		// Started for another provider whose middleware shares the store:
		// its code must not reach this provider (RFC 9700 §4.4 mix-up).
		return nil, fmt.Errorf("%w: the login was started for %q", ErrIssuerMismatch, rec.issuer)
	}
	c := cookieValue(r, ss.loginCookieName(rec.binding))
	if subtle.ConstantTimeCompare([]byte(c), []byte(rec.binding)) != 1 {
		return nil, ErrStateMismatch
	}
	return rec, nil
}
