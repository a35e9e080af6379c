package oidcmw

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

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
	parURL        string
	requirePAR    bool
	authMethod    string // how the client authenticates (Options.ClientAuthMethod or discovery)
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
// tries again.
type discovery struct {
	p      atomic.Pointer[provider]
	flight singleflight.Group
}

// provider returns the discovered provider, fetching it if needed. The
// fetch outlives a caller that gives up: others may be waiting; the HTTP
// client's timeouts bound it. Each caller gets an error value of its own,
// so that what one request does with it never reaches another.
func (m *Middleware) provider(ctx context.Context) (*provider, error) {
	d := &m.disc
	if p := d.p.Load(); p != nil {
		return p, nil
	}
	ch := d.flight.DoChan("discovery", func() (any, error) {
		p, err := m.discover(context.WithoutCancel(ctx))
		if err == nil {
			d.p.Store(p)
		}
		return p, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, &unavailable{what: "discovery", err: r.Err}
		}
		return r.Val.(*provider), nil
	case <-ctx.Done():
		return nil, &unavailable{what: "discovery", err: ctx.Err()}
	}
}

func (m *Middleware) discover(ctx context.Context) (*provider, error) {
	var doc discoveryDoc
	if err := getJSON(ctx, m.opts.HTTPClient, discoveryURL(m.opts.Issuer), m.opts.Limits.MaxDocumentBytes, &doc); err != nil {
		return nil, err
	}
	if want := m.expectedDiscoveryIssuer(); doc.Issuer != want {
		return nil, fmt.Errorf("issuer %q does not equal the configured %q", doc.Issuer, want)
	}
	for name, u := range map[string]string{"authorization_endpoint": doc.AuthorizationURL,
		"token_endpoint": doc.TokenURL, "jwks_uri": doc.JWKSURL} {
		if pu, err := url.Parse(u); err != nil || pu.Host == "" || (pu.Scheme != "https" && pu.Scheme != "http") {
			return nil, fmt.Errorf("%s %q is not an absolute URL", name, u)
		}
	}
	algs := []string{"RS256"} // OIDC Discovery §3: RS256 when absent
	if len(doc.IDTokenAlgs) > 0 {
		algs = slices.DeleteFunc(slices.Clone(doc.IDTokenAlgs), func(a string) bool {
			return !slices.Contains(asymmetricAlgs, a)
		})
		if len(algs) == 0 {
			return nil, fmt.Errorf("no supported ID token algorithm in %q", doc.IDTokenAlgs)
		}
	}
	keys := newKeySet(doc.JWKSURL, m.opts.HTTPClient, m.opts.Now, m.opts.Limits, m.opts.Logger)
	var idAlgs []jose.SignatureAlgorithm
	for _, a := range algs {
		idAlgs = append(idAlgs, jose.SignatureAlgorithm(a))
	}
	jarmAlgs := []jose.SignatureAlgorithm{jose.RS256} // JARM §5: RS256 when absent
	if len(doc.AuthzAlgs) > 0 {
		jarmAlgs = nil
		for _, a := range doc.AuthzAlgs {
			if slices.Contains(asymmetricAlgs, a) {
				jarmAlgs = append(jarmAlgs, jose.SignatureAlgorithm(a))
			}
		}
	}
	return &provider{
		issuer:        doc.Issuer,
		authURL:       doc.AuthorizationURL,
		tokenURL:      doc.TokenURL,
		parURL:        doc.PARURL,
		requirePAR:    doc.RequirePAR,
		authMethod:    m.authMethod(doc.AuthMethods),
		jarmAlgs:      jarmAlgs,
		userinfoURL:   doc.UserinfoURL,
		endSessionURL: doc.EndSessionURL,
		revocationURL: doc.RevocationURL,
		issParameter:  doc.IssParameterSupported,
		keys:          keys,
		idAlgs:        idAlgs,
		// Under a tenant template, checkTenantIssuer compares iss; JARM's
		// iss follows RFC 9207 (issuerParamOK).
		idVerifier:   newVerifier(doc.Issuer, keys, m.opts.ClientID, idAlgs, m.opts.TenantIssuer == "", m.opts.Now),
		jarmVerifier: newVerifier(doc.Issuer, keys, m.opts.ClientID, jarmAlgs, false, m.opts.Now),
	}, nil
}

// authMethod is Options.ClientAuthMethod, or, for a client with a secret
// and no explicit method, the first secret method the provider supports.
func (m *Middleware) authMethod(supported []string) string {
	if m.opts.ClientAuthMethod != "" {
		return m.opts.ClientAuthMethod
	}
	for _, method := range []string{"client_secret_basic", "client_secret_post", "client_secret_jwt"} {
		if slices.Contains(supported, method) {
			return method
		}
	}
	return "client_secret_basic" // RFC 8414 §2: the default when absent
}

// discoveryURL follows OpenID Connect Discovery §4: a trailing slash of
// the issuer is removed before the well-known path is appended, while the
// issuer itself is compared exactly (Auth0's ends in a slash).
func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// Discover fetches the provider's metadata and keys now instead of on
// first use, and reports what is wrong (unreachable, issuer mismatch, no
// usable key). Call it at startup to fail fast on bad configuration; the
// middleware works without it.
func (m *Middleware) Discover(ctx context.Context) error {
	p, err := m.provider(ctx)
	if err != nil {
		return err
	}
	return p.keys.ensure(ctx)
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
		return nil, fmt.Errorf("%s answered %s", u, resp.Status)
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
