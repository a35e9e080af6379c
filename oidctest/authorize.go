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
	resources   []string // RFC 8707 resource indicators
	dpopJKT     string   // RFC 9449 §10 dpop_jkt
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
	mode        string // "query", "form_post", "query.jwt" or "form_post.jwt"
	state       string
}

// authorize is the authorization endpoint (OpenID Connect Core §3.1.2). It
// approves the configured user without asking, in the user's OP session
// (see loginLocked); prompt=none gets login_required when that would mean
// authenticating anew.
//
// The request's parameters come from a pushed request (request_uri, RFC
// 9126 §4) or a request object (request, RFC 9101 §6) when one is given;
// the other query parameters are then ignored.
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
	e := s.env(clientID)
	pushed, signed := false, false
	switch {
	case q.Has("request_uri"):
		pr, problem := s.takePushed(clientID, q.Get("request_uri"), e.now)
		if problem != "" {
			writeHTML(w, http.StatusBadRequest, "Bad request", "Invalid request_uri: "+problem+".")
			return
		}
		q, pushed, signed = pr.params, true, pr.signed
	case q.Has("request"):
		p, err := s.requestObject(e, c, q.Get("request"))
		if err != nil {
			s.refuse(w, r, e, c, q, "invalid_request_object", "request object: "+err.Error())
			return
		}
		q, signed = p, true
	}
	switch {
	case !pushed && (s.requirePAR || c.RequirePAR):
		s.refuse(w, r, e, c, q, "invalid_request", "a pushed authorization request (request_uri) is required")
		return
	case !signed && s.requireSigned:
		s.refuse(w, r, e, c, q, "invalid_request", "a signed request object is required")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !redirectAllowed(c, redirectURI) {
		writeHTML(w, http.StatusBadRequest, "Bad request", "The redirect_uri is not registered for this client.")
		return
	}
	reply := authzReply{e: e, redirectURI: redirectURI, state: q.Get("state")}
	if reply.mode, ok = s.responseMode(q.Get("response_mode")); !ok {
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
		resources:   slices.Clone(q["resource"]),
		dpopJKT:     q.Get("dpop_jkt"),
		user:        user,
		op:          s.loginLocked(user.Subject, now, prompt, q.Get("max_age")),
		expires:     now.Add(codeLifetime),
	}
	s.mu.Unlock()
	s.authzRespond(w, r, reply, url.Values{"code": {code}})
}

// responseMode maps a response_mode to how the response is sent; ok is
// false for one the server does not support.
func (s *Server) responseMode(m string) (mode string, ok bool) {
	switch m {
	case "", "query":
		return "query", true
	case "form_post":
		return "form_post", true
	case "jwt", "query.jwt": // jwt is query.jwt for response_type=code (JARM §2.3.4)
		if s.jarm {
			return "query.jwt", true
		}
	case "form_post.jwt":
		if s.jarm {
			return "form_post.jwt", true
		}
	}
	return "query", false
}

// refuse answers an authorization request that the server refuses before
// reading its parameters: with an error redirect when q's redirect_uri may
// receive c's responses, else with a 400 page.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, e *env, c Client, q url.Values, code, desc string) {
	if !redirectAllowed(c, q.Get("redirect_uri")) {
		writeHTML(w, http.StatusBadRequest, "Bad request", desc+".")
		return
	}
	mode, _ := s.responseMode(q.Get("response_mode"))
	s.authzError(w, r, authzReply{e: e, redirectURI: q.Get("redirect_uri"), mode: mode, state: q.Get("state")}, code, desc)
}

// checkAuthzRequest returns an error code and description for a request
// the server refuses, or "" for a valid one.
func checkAuthzRequest(q url.Values) (code, desc string) {
	for k, v := range q {
		if len(v) > 1 && k != "resource" {
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
	if desc := checkResources(q["resource"]); desc != "" {
		return "invalid_target", desc
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
// it to the client by redirect or form post, as a JARM JWT for the .jwt
// modes.
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
	if strings.HasSuffix(reply.mode, ".jwt") {
		resp, err := s.jarmResponse(reply.e, p)
		if err != nil {
			writeHTML(w, http.StatusInternalServerError, "Server error", "Cannot sign the authorization response.")
			return
		}
		p = url.Values{"response": {resp}}
	}
	if strings.HasPrefix(reply.mode, "form_post") {
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
