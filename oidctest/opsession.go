package oidctest

import (
	"strconv"
	"time"
)

// opSession is the end user's session at the OP, what a browser cookie
// would point to. The server keeps one per subject.
type opSession struct {
	sub      string
	sid      string
	authTime time.Time
	clients  map[string]bool // got tokens in this session
}

// needsLogin reports whether an authorization request with these prompt
// and max_age values must re-authenticate the user of op (OpenID Connect
// Core §3.1.2.1). max_age=0 always does, as prompt=login.
func needsLogin(op *opSession, now time.Time, prompt, maxAge string) bool {
	if op == nil || hasScope(prompt, "login") {
		return true
	}
	if maxAge == "" {
		return false
	}
	n, _ := strconv.ParseInt(maxAge, 10, 64) // checked by checkAuthzRequest
	return n == 0 || now.Unix()-op.authTime.Unix() > n
}

// loginLocked returns the OP session of sub for an authorization request,
// authenticating anew (auth_time now, new sid) when needsLogin says so.
// s.mu must be held.
func (s *Server) loginLocked(sub string, now time.Time, prompt, maxAge string) *opSession {
	op := s.logins[sub]
	if needsLogin(op, now, prompt, maxAge) {
		op = &opSession{sub: sub, sid: randomToken(), authTime: now, clients: map[string]bool{}}
		s.logins[sub] = op
	}
	return op
}

// EndUserSession forgets the OP session of the user with subject sub, as
// if the user had signed out at the provider without telling anyone: the
// next authorization authenticates anew, with a new sid and auth_time.
// Tokens already issued stay valid and no back-channel logout is sent.
func (s *Server) EndUserSession(sub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.logins, sub)
}
