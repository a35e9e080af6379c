package oidctest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// backchannelTimeout bounds each back-channel logout request.
const backchannelTimeout = 10 * time.Second

// BackchannelResult is the outcome of one back-channel logout request that
// the end_session endpoint sent.
type BackchannelResult struct {
	ClientID string
	URI      string
	// Status is the relying party's HTTP status: 200 means it logged the
	// session out (OpenID Connect Back-Channel Logout 1.0 §2.8). 0 when no
	// answer came.
	Status int
	// Err is set when the request failed or no answer came.
	Err error
}

// BackchannelResults returns the outcome of every back-channel logout
// request the end_session endpoint sent, in order. Requests sent with
// [Server.SendBackchannelLogout] directly are not included.
func (s *Server) BackchannelResults() []BackchannelResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.results)
}

// SendBackchannelLogout POSTs token as the logout_token parameter of an
// application/x-www-form-urlencoded body to uri, as an OP does (OpenID
// Connect Back-Channel Logout 1.0 §2.5), with [Config.HTTPClient]. It
// returns the status and up to 1 MiB of the body; err is set only when no
// complete answer came, not for an error status.
func (s *Server) SendBackchannelLogout(ctx context.Context, uri, token string) (status int, body []byte, err error) {
	form := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(form))
	if err != nil {
		return 0, nil, fmt.Errorf("oidctest: back-channel logout request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("oidctest: back-channel logout: %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("oidctest: reading back-channel logout response: %w", err)
	}
	return resp.StatusCode, body, nil
}

// logoutUser ends the OP session of sub and sends a valid logout token
// with sub and sid to every client that got tokens in it and has a
// BackchannelLogoutURI, one after the other, recording the results. The
// requests end with ctx, after backchannelTimeout, or at Close.
func (s *Server) logoutUser(ctx context.Context, e *env, sub string) {
	s.mu.Lock()
	op := s.logins[sub]
	delete(s.logins, sub)
	var targets []Client
	if op != nil {
		for _, id := range slices.Sorted(func(yield func(string) bool) {
			for id := range op.clients {
				if !yield(id) {
					return
				}
			}
		}) {
			if c, ok := s.clients[id]; ok && c.BackchannelLogoutURI != "" {
				targets = append(targets, c)
			}
		}
	}
	s.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
	defer cancel()
	go func() {
		select {
		case <-e.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	for _, c := range targets {
		res := BackchannelResult{ClientID: c.ID, URI: c.BackchannelLogoutURI}
		ce := *e
		ce.clientID = c.ID
		tok, err := logoutToken(&ce, op.sub, op.sid, logoutEdit{})
		if err == nil {
			res.Status, _, err = s.SendBackchannelLogout(ctx, c.BackchannelLogoutURI, tok)
		}
		res.Err = err
		s.mu.Lock()
		s.results = append(s.results, res)
		s.mu.Unlock()
	}
}
