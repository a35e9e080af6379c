package oidcmw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// fetchUserInfo calls the UserInfo endpoint with the access token in the
// Authorization header (never in a URL, RFC 9700 §4.3.2) and returns the
// response, a JSON object whose sub equals sub (OIDC Core §5.3.2).
func (tc *tokenClient) userInfo(ctx context.Context, p *provider, id *Identity) ([]byte, error) {
	if p.userinfoURL == "" {
		return nil, fmt.Errorf("%w: the provider has no userinfo_endpoint", ErrInvalidUserInfo)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.userinfoURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{Transport: id.transport(tc.client.Transport, tc.now), Timeout: tc.client.Timeout}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &unavailable{what: "userinfo", err: err}
	}
	defer resp.Body.Close()
	max := tc.maxDoc
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
	switch {
	case err != nil:
		return nil, &unavailable{what: "userinfo", err: err}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// The token was refused (expired, revoked, insufficient_scope).
		return nil, fmt.Errorf("%w: the provider refused the access token (status %d)", ErrInvalidUserInfo, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, &unavailable{what: "userinfo", err: fmt.Errorf("status %d", resp.StatusCode)}
	case len(body) > max:
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidUserInfo, max)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		// Signed or encrypted UserInfo (application/jwt) is not supported.
		return nil, fmt.Errorf("%w: content type %q", ErrInvalidUserInfo, mt)
	}
	var claims struct {
		Sub *string `json:"sub"`
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidUserInfo, err)
	}
	if claims.Sub == nil || *claims.Sub != id.Subject {
		return nil, errors.Join(ErrInvalidUserInfo, errors.New("sub differs from the ID token's"))
	}
	return body, nil
}
