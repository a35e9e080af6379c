package oidcmw

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// tokenResponse is a token endpoint answer (RFC 6749 §5.1, OIDC Core
// §3.1.3.3).
type tokenResponse struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresIn    expiresIn `json:"expires_in"`
	IDToken      string    `json:"id_token"`
	Scope        string    `json:"scope"`
}

// expiresIn is a number of seconds; some providers send it as a string.
// set is false when it is absent (or null or empty).
type expiresIn struct {
	seconds int64
	set     bool
}

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*e = expiresIn{}
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("expires_in %s: %w", b, err)
	}
	*e = expiresIn{seconds: max(n, 0), set: true}
	return nil
}

// expiry is when a token of this lifetime expires, counted from now; zero
// when the provider gave no lifetime.
func (e expiresIn) expiry(now time.Time) time.Time {
	if !e.set {
		return time.Time{}
	}
	return now.Add(time.Duration(min(e.seconds, maxExpiresIn)) * time.Second)
}

// maxExpiresIn keeps an absurd expires_in from overflowing time.Duration.
const maxExpiresIn = 100 * 365 * 24 * 3600

// oauthError is an OAuth 2.0 error body (RFC 6749 §5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri"`
}

// tokenClient talks to the provider's token, PAR, revocation and UserInfo
// endpoints for the client: client authentication, DPoP proofs and nonces,
// size limits. It is built once in New.
type tokenClient struct {
	client      *http.Client
	clientID    string
	secret      string
	key         crypto.Signer // Options.ClientKey, may be nil
	keyAlg      jose.SignatureAlgorithm
	keyID       string
	redirectURL string
	tokenParams url.Values // Options.TokenParams
	maxDoc      int
	now         func() time.Time
	verify      *verifier
	nonces      dpopNonces
}

// request posts a grant to the token endpoint with the client's
// authentication and, when dk is set, a DPoP proof; it retries once when
// the provider asks for a DPoP nonce (RFC 9449 §8). An OAuth error body is
// a [ProviderError] with the status (matching ErrProviderUnavailable when
// it is a 5xx); a transport failure or another answer that is not 200 is
// an outage; a 200 that is not a token response [ErrInvalidTokenResponse].
func (tc *tokenClient) request(ctx context.Context, p *provider, grant url.Values, dk *dpopKey) (*tokenResponse, error) {
	for attempt := 0; ; attempt++ {
		body, status, header, err := tc.postForm(ctx, p, p.tokenURL, grant, dk)
		if err != nil {
			return nil, &unavailable{what: "token endpoint", err: err}
		}
		if dk != nil {
			tc.nonces.set(p.tokenNonceKey, header.Get("DPoP-Nonce"))
		}
		if status == http.StatusOK {
			return parseTokenResponse(body)
		}
		var oe oauthError
		if status >= 400 && json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			if oe.Error == "use_dpop_nonce" && dk != nil && status < 500 {
				if attempt == 0 && header.Get("DPoP-Nonce") != "" {
					continue
				}
				return nil, &unavailable{what: "token endpoint", err: errors.New("DPoP nonce asked for again after a retry")}
			}
			return nil, &ProviderError{Code: oe.Error, Description: oe.Description, URI: oe.URI, TokenEndpoint: true, StatusCode: status}
		}
		return nil, &unavailable{what: "token endpoint", err: fmt.Errorf("status %d", status)}
	}
}

func parseTokenResponse(body []byte) (*tokenResponse, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTokenResponse, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%w: access_token missing", ErrInvalidTokenResponse)
	}
	return &tr, nil
}

// postForm sends an authenticated form POST to one of the provider's
// endpoints and returns the (size-limited) answer.
func (tc *tokenClient) postForm(ctx context.Context, p *provider, endpoint string, params url.Values, dk *dpopKey) ([]byte, int, http.Header, error) {
	form := maps.Clone(params)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, 0, nil, err
	}
	if err := tc.authenticate(req, form, p); err != nil {
		return nil, 0, nil, err
	}
	if dk != nil { // DPoP proofs go to the token endpoint only
		proof, err := dk.proof(http.MethodPost, endpoint, tc.nonces.get(p.tokenNonceKey), "", tc.now())
		if err != nil {
			return nil, 0, nil, err
		}
		req.Header.Set("DPoP", proof)
	}
	enc := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(enc))
	req.ContentLength = int64(len(enc))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := tc.client.Do(req)
	if err != nil {
		return nil, 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(tc.maxDoc)+1))
	if err != nil {
		return nil, 0, nil, err
	}
	if len(body) > tc.maxDoc {
		return nil, 0, nil, fmt.Errorf("answer larger than %d bytes", tc.maxDoc)
	}
	return body, resp.StatusCode, resp.Header, nil
}

// push sends an authorization request to the pushed authorization request
// endpoint (RFC 9126) and returns its request_uri.
func (tc *tokenClient) push(ctx context.Context, p *provider, params url.Values) (string, error) {
	if p.parURL == "" {
		return "", &unavailable{what: "PAR", err: fmt.Errorf("the provider has no pushed_authorization_request_endpoint")}
	}
	body, status, _, err := tc.postForm(ctx, p, p.parURL, params, nil)
	if err != nil {
		return "", &unavailable{what: "PAR endpoint", err: err}
	}
	var res struct {
		RequestURI string `json:"request_uri"`
		oauthError
	}
	if err := json.Unmarshal(body, &res); err != nil || (status != http.StatusCreated && status != http.StatusOK) || res.RequestURI == "" {
		return "", &unavailable{what: "PAR endpoint", err: fmt.Errorf("status %d, error %q", status, res.Error)}
	}
	return res.RequestURI, nil
}

// revoke revokes a refresh token (RFC 7009 §2.1), authenticating the
// client the way the token endpoint does.
func (tc *tokenClient) revoke(ctx context.Context, p *provider, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	_, status, _, err := tc.postForm(ctx, p, p.revocationURL, form, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered %d", status)
	}
	return nil
}
