package oidcmw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"
)

// events reports what the middleware did: Info records for logins and
// logouts, the Observer, and the OnLogout hook.
type events struct {
	issuer      string
	observer    Observer
	logger      *slog.Logger
	omitSubject bool
	onLogout    func(ctx context.Context, issuer, subject string)
}

func newEvents(o *Options) *events {
	return &events{issuer: o.Issuer, observer: o.Observer, logger: o.Logger,
		omitSubject: o.OmitSubjectInLogs, onLogout: o.OnLogout}
}

// observe tells the observer, when there is one, about e.
func (ev *events) observe(ctx context.Context, e Event) {
	if ev.observer == nil {
		return
	}
	e.Issuer = ev.issuer
	if e.Err != nil {
		e.Reason = reasonCode(e.Err)
	}
	ev.observer.Observe(ctx, e)
}

// login reports a completed login (err nil; id is the new identity) or a
// refused one. The refusal itself is logged by the handler's fail.
func (ev *events) login(ctx context.Context, id *Identity, d time.Duration, err error) {
	if err == nil {
		attrs := append([]any{"provider", ev.issuer, "duration", d}, ev.subjectAttrs(id.Issuer, id.Subject)...)
		ev.logger.InfoContext(ctx, "oidcmw: login", attrs...)
	}
	ev.observe(ctx, Event{Kind: EventLogin, Err: err, Duration: d})
}

// refresh reports a refresh at the token endpoint.
func (ev *events) refresh(ctx context.Context, d time.Duration, err error) {
	ev.observe(ctx, Event{Kind: EventRefresh, Err: err, Duration: d})
}

// logout reports sessions ended by kind (EventLogout or
// EventBackchannelLogout), or its failure; subject is the ended session's,
// or the logout token's.
func (ev *events) logout(ctx context.Context, kind EventKind, issuer, subject string, sessions int, err error) {
	if err == nil && sessions > 0 {
		attrs := append([]any{"provider", ev.issuer, "kind", string(kind), "sessions", sessions}, ev.subjectAttrs(issuer, subject)...)
		ev.logger.InfoContext(ctx, "oidcmw: logout", attrs...)
		if ev.onLogout != nil {
			ev.onLogout(ctx, issuer, subject)
		}
	}
	ev.observe(ctx, Event{Kind: kind, Err: err, Sessions: sessions})
}

// failed reports a failure that is not a login's: the store's.
func (ev *events) failed(ctx context.Context, err error) {
	if errors.Is(err, ErrStoreUnavailable) {
		ev.observe(ctx, Event{Kind: EventStoreError, Err: err})
	}
}

// subjectAttrs is the log attribute that names a user: a hash of issuer
// and subject (enough to follow one user through the log, not to read an
// email address that a subject may be), or nothing with
// Options.OmitSubjectInLogs.
func (ev *events) subjectAttrs(issuer, subject string) []any {
	if ev.omitSubject || subject == "" {
		return nil
	}
	return []any{"subject_hash", subjectHash(issuer, subject)}
}

// subjectHash is 16 hex digits of SHA-256 over issuer and subject.
func subjectHash(issuer, subject string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + subject))
	return hex.EncodeToString(sum[:8])
}
