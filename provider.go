package oidcmw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// provider is what discovery yields: endpoints, the key set and the
// accepted signing algorithms. It is immutable once built.
type provider struct {
	issuer        string
	authURL       string
	tokenURL      string
	tokenNonceKey nonceKey // where the token endpoint's DPoP nonce is kept
	parURL        string
	requirePAR    bool
	authMethod    clientAuth // how the client authenticates (Options.ClientAuthMethod or discovery)
	jarmAlgs      []jose.SignatureAlgorithm
	userinfoURL   string
	endSessionURL string
	revocationURL string
	issParameter  bool // authorization_response_iss_parameter_supported
	keys          *keySet
	idAlgs        []jose.SignatureAlgorithm // ID and logout tokens
	idVerifier    *oidc.IDTokenVerifier     // ID and logout tokens
	jarmVerifier  *oidc.IDTokenVerifier     // JARM responses
}

// discoveryDoc is the part of the provider metadata (OpenID Connect
// Discovery 1.0 §3, RFC 8414, RFC 9207) the middleware reads.
type discoveryDoc struct {
	Issuer                string   `json:"issuer"`
	AuthorizationURL      string   `json:"authorization_endpoint"`
	TokenURL              string   `json:"token_endpoint"`
	JWKSURL               string   `json:"jwks_uri"`
	UserinfoURL           string   `json:"userinfo_endpoint"`
	EndSessionURL         string   `json:"end_session_endpoint"`
	RevocationURL         string   `json:"revocation_endpoint"`
	IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`
	AuthzAlgs             []string `json:"authorization_signing_alg_values_supported"`
	PARURL                string   `json:"pushed_authorization_request_endpoint"`
	RequirePAR            bool     `json:"require_pushed_authorization_requests"`
	AuthMethods           []string `json:"token_endpoint_auth_methods_supported"`
	IssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// asymmetricAlgs are the only ID token algorithms accepted: never "none",
// never HMAC (a provider's public key must not double as an HMAC secret).
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA"}

// discovery fetches provider metadata lazily, once, sharing one fetch among
// concurrent callers (singleflight). A failure is not cached: the next call
// tries again. It is built once in New.
type discovery struct {
	issuer   string
	tenant   tenantRule
	clientID string
	auth     clientAuth // "": the first secret method the provider lists
	client   *http.Client
	limits   Limits
	now      func() time.Time
	logger   *slog.Logger

	p      atomic.Pointer[provider]
	flight singleflight.Group
}

// get returns the discovered provider, fetching it if needed. The fetch
// outlives a caller that gives up: others may be waiting; the HTTP client's
// timeouts bound it. Each caller gets an error value of its own, so that
// what one request does with it never reaches another.
func (d *discovery) get(ctx context.Context) (*provider, error) {
	if p := d.p.Load(); p != nil {
		return p, nil
	}
	ch := d.flight.DoChan("discovery", func() (any, error) {
		p, err := d.fetch(context.WithoutCancel(ctx))
		if err == nil {
			d.p.Store(p)
		}
		return p, err
	})
	select {
	case r := <-ch:
		var mc *misconfigured
		switch {
		case errors.As(r.Err, &mc):
			return nil, &misconfigured{err: mc.err}
		case r.Err != nil:
			return nil, &unavailable{what: "discovery", err: r.Err}
		}
		return r.Val.(*provider), nil
	case <-ctx.Done():
		return nil, &unavailable{what: "discovery", err: ctx.Err()}
	}
}

// fetch reads and checks the discovery document and builds the provider.
func (d *discovery) fetch(ctx context.Context) (*provider, error) {
	var doc discoveryDoc
	if err := getJSON(ctx, d.client, discoveryURL(d.issuer), d.limits.MaxDocumentBytes, &doc); err != nil {
		var se *statusError
		if errors.As(err, &se) && (se.code == http.StatusNotFound || se.code == http.StatusGone) {
			return nil, &misconfigured{err: err}
		}
		return nil, err
	}
	if want := d.tenant.discoveryIssuer(d.issuer); doc.Issuer != want {
		return nil, &misconfigured{fmt.Errorf("issuer %q does not equal the configured %q", doc.Issuer, want)}
	}
	if err := doc.checkEndpoints(); err != nil {
		return nil, &misconfigured{err}
	}
	idAlgs, err := signingAlgs(doc.IDTokenAlgs)
	if err != nil {
		return nil, &misconfigured{fmt.Errorf("no supported ID token algorithm in %q", doc.IDTokenAlgs)}
	}
	jarmAlgs, _ := signingAlgs(doc.AuthzAlgs) // JARM §5, like Discovery §3: RS256 when absent
	keys := newKeySet(doc.JWKSURL, d.client, d.now, d.limits, d.logger)
	return &provider{
		issuer:        doc.Issuer,
		authURL:       doc.AuthorizationURL,
		tokenURL:      doc.TokenURL,
		tokenNonceKey: nonceKeyOf(doc.TokenURL),
		parURL:        doc.PARURL,
		requirePAR:    doc.RequirePAR,
		authMethod:    d.authMethod(doc.AuthMethods),
		jarmAlgs:      jarmAlgs,
		userinfoURL:   doc.UserinfoURL,
		endSessionURL: doc.EndSessionURL,
		revocationURL: doc.RevocationURL,
		issParameter:  doc.IssParameterSupported,
		keys:          keys,
		idAlgs:        idAlgs,
		// Under a tenant template, tenantRule.check compares iss; JARM's
		// iss follows RFC 9207 (issuerParamOK).
		idVerifier:   newVerifier(doc.Issuer, keys, d.clientID, idAlgs, !d.tenant.on(), d.now),
		jarmVerifier: newVerifier(doc.Issuer, keys, d.clientID, jarmAlgs, false, d.now),
	}, nil
}

// checkEndpoints: the required endpoints are absolute http(s) URLs, and no
// endpoint is http when the issuer is https (a downgrade would send codes,
// tokens and client credentials in clear text).
func (doc *discoveryDoc) checkEndpoints() error {
	httpsIssuer := strings.HasPrefix(doc.Issuer, "https://")
	for name, u := range map[string]string{"authorization_endpoint": doc.AuthorizationURL,
		"token_endpoint": doc.TokenURL, "jwks_uri": doc.JWKSURL, "userinfo_endpoint": doc.UserinfoURL,
		"end_session_endpoint": doc.EndSessionURL, "revocation_endpoint": doc.RevocationURL,
		"pushed_authorization_request_endpoint": doc.PARURL} {
		required := name == "authorization_endpoint" || name == "token_endpoint" || name == "jwks_uri"
		if u == "" && !required {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || (pu.Scheme != "https" && pu.Scheme != "http") {
			return fmt.Errorf("%s %q is not an absolute URL", name, u)
		}
		if httpsIssuer && pu.Scheme != "https" {
			return fmt.Errorf("%s %q is http while the issuer is https", name, u)
		}
	}
	return nil
}

// signingAlgs keeps the asymmetric algorithms of an advertised list, RS256
// when the list is empty; an error when none is left.
func signingAlgs(advertised []string) ([]jose.SignatureAlgorithm, error) {
	if len(advertised) == 0 {
		return []jose.SignatureAlgorithm{jose.RS256}, nil
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range advertised {
		if slices.Contains(asymmetricAlgs, a) {
			algs = append(algs, jose.SignatureAlgorithm(a))
		}
	}
	if len(algs) == 0 {
		return nil, errors.New("no asymmetric algorithm")
	}
	return algs, nil
}

// authMethod is Options.ClientAuthMethod, or, for a client with a secret
// and no explicit method, the first secret method the provider supports.
func (d *discovery) authMethod(supported []string) clientAuth {
	if d.auth != "" {
		return d.auth
	}
	for _, method := range []clientAuth{authSecretBasic, authSecretPost, authSecretJWT} {
		if slices.Contains(supported, string(method)) {
			return method
		}
	}
	return authSecretBasic // RFC 8414 §2: the default when absent
}

// nonceKey is what a server's DPoP nonce is kept under: its host (RFC 9449
// §8: a nonce is the server's, whichever of its endpoints sent it).
type nonceKey string

func nonceKeyOf(endpoint string) nonceKey {
	if u, err := url.Parse(endpoint); err == nil {
		return nonceKey(u.Host)
	}
	return nonceKey(endpoint)
}

// discoveryURL follows OpenID Connect Discovery §4: a trailing slash of
// the issuer is removed before the well-known path is appended, while the
// issuer itself is compared exactly (Auth0's ends in a slash).
func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// getJSON fetches a JSON document; anything but 200 with a JSON body of at
// most max bytes is an error.
func getJSON(ctx context.Context, c *http.Client, u string, max int, v any) error {
	_, err := getJSONHeader(ctx, c, u, max, v)
	return err
}

// getJSONHeader is getJSON that also returns the response's header.
func getJSONHeader(ctx context.Context, c *http.Client, u string, max int, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &statusError{url: u, code: resp.StatusCode, status: resp.Status}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(body) > max {
		return nil, fmt.Errorf("document larger than %d bytes", max)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return resp.Header, nil
}

// statusError: a document request answered another status than 200.
type statusError struct {
	url, status string
	code        int
}

func (e *statusError) Error() string { return e.url + " answered " + e.status }
