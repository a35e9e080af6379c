package oidctest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// codeLifetime is how long an authorization code can be redeemed.
const codeLifetime = 60 * time.Second

// grant is an issued authorization code and what it is bound to.
type grant struct {
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	scope       string
	prompt      string
	maxAge      string // as requested; "" when absent
	accessType  string // Google's access_type
	acr         string
	user        User
	op          *opSession
	expires     time.Time
	used        bool
	sess        *session // the tokens issued from this code, revoked on replay
}

// authzReply is where and how the authorization response goes.
type authzReply struct {
	e           *env
	redirectURI string
	formPost    bool
	state       string
}

// authorize is the authorization endpoint (OpenID Connect Core §3.1.2). It
// approves the configured user without asking, in the user's OP session
// (see loginLocked); prompt=none gets login_required when that would mean
// authenticating anew.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.Form
	clientID := q.Get("client_id")
	s.mu.Lock()
	c, ok := s.clients[clientID]
	s.mu.Unlock()
	if !ok {
		writeHTML(w, http.StatusBadRequest, "Bad request", "Unknown client_id.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !redirectAllowed(c, redirectURI) {
		writeHTML(w, http.StatusBadRequest, "Bad request", "The redirect_uri is not registered for this client.")
		return
	}
	reply := authzReply{e: s.env(clientID), redirectURI: redirectURI, state: q.Get("state")}
	switch q.Get("response_mode") {
	case "", "query":
	case "form_post":
		reply.formPost = true
	default:
		s.authzError(w, r, reply, "invalid_request", "unsupported response_mode")
		return
	}
	if code, desc := checkAuthzRequest(q); code != "" {
		s.authzError(w, r, reply, code, desc)
		return
	}
	code := randomToken()
	now := reply.e.now
	prompt := q.Get("prompt")
	acr := s.acr
	if v := strings.Fields(q.Get("acr_values")); len(v) > 0 {
		acr = v[0]
	}
	s.mu.Lock()
	user := s.user.clone()
	if hint := q.Get("login_hint"); hint != "" && s.hintUser {
		user.Subject = hint
	}
	if hasScope(prompt, "none") && needsLogin(s.logins[user.Subject], now, prompt, q.Get("max_age")) {
		s.mu.Unlock()
		s.authzError(w, r, reply, "login_required", "the end user is not signed in")
		return
	}
	s.codes[code] = &grant{
		clientID:    clientID,
		redirectURI: redirectURI,
		challenge:   q.Get("code_challenge"),
		nonce:       q.Get("nonce"),
		scope:       q.Get("scope"),
		prompt:      prompt,
		maxAge:      q.Get("max_age"),
		accessType:  q.Get("access_type"),
		acr:         acr,
		user:        user,
		op:          s.loginLocked(user.Subject, now, prompt, q.Get("max_age")),
		expires:     now.Add(codeLifetime),
	}
	s.mu.Unlock()
	s.authzRespond(w, r, reply, url.Values{"code": {code}})
}

// checkAuthzRequest returns an error code and description for a request
// the server refuses, or "" for a valid one.
func checkAuthzRequest(q url.Values) (code, desc string) {
	for k, v := range q {
		if len(v) > 1 {
			return "invalid_request", "parameter " + k + " repeated"
		}
	}
	switch {
	case q.Get("response_type") == "":
		return "invalid_request", "response_type is required"
	case q.Get("response_type") != "code":
		return "unsupported_response_type", "only response_type=code is supported"
	case !hasScope(q.Get("scope"), "openid"):
		return "invalid_request", "scope must contain openid"
	case q.Get("code_challenge") == "":
		return "invalid_request", "code_challenge is required (RFC 7636)"
	case q.Get("code_challenge_method") != "S256":
		return "invalid_request", "code_challenge_method must be S256"
	}
	if m := q.Get("max_age"); m != "" {
		if n, err := strconv.Atoi(m); err != nil || n < 0 {
			return "invalid_request", "max_age must be a non-negative integer"
		}
	}
	return "", ""
}

// redirectAllowed reports whether uri may receive c's authorization
// responses.
func redirectAllowed(c Client, uri string) bool {
	if len(c.RedirectURIs) > 0 {
		return slices.Contains(c.RedirectURIs, uri)
	}
	u, err := url.Parse(uri)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
		u.Host != "" && !strings.Contains(uri, "#")
}

func (s *Server) authzError(w http.ResponseWriter, r *http.Request, reply authzReply, code, desc string) {
	s.authzRespond(w, r, reply, url.Values{"error": {code}, "error_description": {desc}})
}

// authzRespond adds state and iss to p, lets behaviours edit it and sends
// it to the client by redirect or form post.
func (s *Server) authzRespond(w http.ResponseWriter, r *http.Request, reply authzReply, p url.Values) {
	if reply.state != "" {
		p.Set("state", reply.state)
	}
	if s.sendIss {
		p.Set("iss", reply.e.issuer)
	}
	for _, h := range reply.e.hooks {
		if h.redirect != nil {
			h.redirect(reply.e, p)
		}
	}
	if reply.formPost {
		writeFormPost(w, reply.redirectURI, p)
		return
	}
	u, err := url.Parse(reply.redirectURI)
	if err != nil {
		writeHTML(w, http.StatusBadRequest, "Bad request", "Invalid redirect_uri.")
		return
	}
	q := u.Query()
	for k, v := range p {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}
