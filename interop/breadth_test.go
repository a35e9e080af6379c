package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Protocol breadth: the example app (../example, built once per test
// binary and run as a subprocess per case, configured only by its
// environment) signs in at oidc-provider with each protocol option of
// oidcmw.Options. What the OP received comes from server.js's request log
// (GET /__log). zitadel's example OP lacks these features (README.md), so
// they run against oidc-provider only.

// Client ids registered at the OP for the breadth cases (breadthClients).
const (
	clientKeyJWT    = "key-jwt"    // private_key_jwt with the suite's ES256 key
	clientSecretJWT = "secret-jwt" // client_secret_jwt (HS256)
	// client_secret_basic, with require_pushed_authorization_requests
	clientPARRequired = "par-required"
	// private_key_jwt, with request_object_signing_alg ES256 and
	// require_signed_request_object
	clientJAR  = "jar"
	clientDPoP = "dpop" // client_secret_basic, dpop_bound_access_tokens
	// client_secret_basic, authorization_signed_response_alg ES256
	clientJARM = "jarm"
)

// apiResource is the one resource server server.js knows (RFC 8707), and
// the scope it grants.
const (
	apiResource = "https://api.interop.test/"
	apiScope    = "api:read"
)

// jwkSet is a JWK Set (RFC 7517 §5) of public EC keys.
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// clientKey is the suite's private_key_jwt and request object key: a P-256
// key in a PEM (PKCS #8) file, as the example reads it.
type clientKey struct {
	file string
	jwk  jwk // public, kid = RFC 7638 thumbprint
}

// newClientKey makes a P-256 key and writes it to a file in dir.
func newClientKey(t *testing.T, dir string) clientKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	point, err := k.PublicKey.Bytes() // uncompressed: 0x04 || x || y
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	j := jwk{Kty: "EC", Crv: "P-256", X: b64(point[1:33]), Y: b64(point[33:]), Use: "sig", Alg: "ES256"}
	// RFC 7638 §3.2: the required members in lexicographic order, no
	// white space.
	sum := sha256.Sum256(fmt.Appendf(nil, `{"crv":"%s","kty":"%s","x":"%s","y":"%s"}`, j.Crv, j.Kty, j.X, j.Y))
	j.Kid = b64(sum[:])
	return clientKey{file: file, jwk: j}
}

// breadthClients registers the breadth clients for the example app at
// origin.
func breadthClients(origin, secret string, key clientKey) []client {
	base := client{
		ClientSecret:            secret,
		RedirectURIs:            []string{origin + "/auth/callback"},
		PostLogoutRedirectURIs:  []string{origin + "/"},
		TokenEndpointAuthMethod: "client_secret_basic",
	}
	with := func(id string, f func(*client)) client {
		c := base
		c.ClientID = id
		f(&c)
		return c
	}
	keyJWT := func(c *client) {
		c.ClientSecret = ""
		c.TokenEndpointAuthMethod = "private_key_jwt"
		c.TokenEndpointAuthSigningAlg = "ES256"
		c.JWKS = &jwkSet{Keys: []jwk{key.jwk}}
	}
	return []client{
		with(clientBasic, func(*client) {}),
		with(clientKeyJWT, keyJWT),
		with(clientSecretJWT, func(c *client) {
			c.TokenEndpointAuthMethod = "client_secret_jwt"
			c.TokenEndpointAuthSigningAlg = "HS256"
		}),
		with(clientPARRequired, func(c *client) { c.RequirePushedAuthorizationRequests = true }),
		with(clientJAR, func(c *client) {
			keyJWT(c)
			c.RequestObjectSigningAlg = "ES256"
			c.RequireSignedRequestObject = true
		}),
		with(clientDPoP, func(c *client) { c.DPoPBoundAccessTokens = true }),
		with(clientJARM, func(c *client) { c.AuthorizationSignedResponseAlg = "ES256" }),
	}
}

// breadthCase is one protocol option of the example app.
type breadthCase struct {
	name     string
	clientID string
	// env is the example's environment beyond ADDR, OIDC_ISSUER,
	// OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (set for clients with a
	// secret); "$KEY" stands for the client key file.
	env map[string]string
	// opRequiresPAR makes the OP require PAR of every client (discovery
	// says so).
	opRequiresPAR bool
	// noUserInfo: the access token is not for the UserInfo endpoint, which
	// refuses it.
	noUserInfo bool
	// before runs first: with an app already at b.origin (usually a
	// misconfigured one, to show what the OP refuses).
	before func(t *testing.T, b *breadthRun)
	// check looks at what the OP received during the login.
	check func(t *testing.T, b *breadthRun, log opLog)
}

// breadthRun is one case's OP and example app.
type breadthRun struct {
	op     *nodeOP
	origin string // the example app's origin, http://127.0.0.1:<port>
	key    clientKey
	env    []string // the example's environment (without ADDR)
}

func TestInteropBreadth(t *testing.T) {
	parFirst := func(t *testing.T, b *breadthRun, log opLog) {
		t.Helper()
		par := log.only(t, "pushed_authorization_request")
		if par.Status != http.StatusCreated || !hasAll(par.Params, "code_challenge", "nonce", "redirect_uri", "state") {
			t.Errorf("PAR request: %+v, want 201 for a request with PKCE, nonce, redirect_uri and state", par)
		}
		// The last one: "PAR required by the client" made one without PAR
		// before.
		if auth := log.last(t, "authorization"); !slices.Equal(auth.Params, []string{"client_id", "request_uri"}) {
			t.Errorf("authorization request parameters %v, want client_id and request_uri only", auth.Params)
		}
	}
	keyAssertion := func(t *testing.T, b *breadthRun, r opRequest) {
		t.Helper()
		if a := r.ClientAssertion; a == nil || a.Alg != "ES256" || a.Kid != b.key.jwk.Kid || r.AuthorizationScheme != "" {
			t.Errorf("%s request: client_assertion %+v, Authorization %q; want ES256 with kid %s and no Authorization header",
				r.Route, a, r.AuthorizationScheme, b.key.jwk.Kid)
		}
	}
	jarm := func(mode string, status int) func(t *testing.T, b *breadthRun, log opLog) {
		return func(t *testing.T, b *breadthRun, log opLog) {
			t.Helper()
			// The OP resumes the authorization request after login, then
			// after consent, and answers it then.
			resp := log.last(t, "resume")
			if resp.ResponseMode != mode || resp.Status != status || !slices.Equal(resp.ResponseParams, []string{"response"}) {
				t.Errorf("authorization response: %+v, want response_mode %s, status %d, the response parameter only", resp, mode, status)
			}
		}
	}
	cases := []breadthCase{
		{
			name: "private_key_jwt", clientID: clientKeyJWT,
			env: map[string]string{"OIDC_CLIENT_AUTH_METHOD": "private_key_jwt", "OIDC_CLIENT_PRIVATE_KEY_FILE": "$KEY"},
			check: func(t *testing.T, b *breadthRun, log opLog) {
				tok := log.last(t, "token")
				keyAssertion(t, b, tok)
				if !hasAll(tok.Params, "client_assertion", "client_assertion_type", "client_id") || slices.Contains(tok.Params, "client_secret") {
					t.Errorf("token request parameters %v", tok.Params)
				}
			},
		},
		{
			name: "client_secret_jwt", clientID: clientSecretJWT,
			env: map[string]string{"OIDC_CLIENT_AUTH_METHOD": "client_secret_jwt"},
			check: func(t *testing.T, b *breadthRun, log opLog) {
				tok := log.last(t, "token")
				if a := tok.ClientAssertion; a == nil || a.Alg != "HS256" || tok.AuthorizationScheme != "" || slices.Contains(tok.Params, "client_secret") {
					t.Errorf("token request: %+v, want an HS256 client_assertion, no Authorization header, no client_secret", tok)
				}
			},
		},
		{
			name: "PAR", clientID: clientBasic,
			env: map[string]string{"OIDC_PAR": "true"},
			check: func(t *testing.T, b *breadthRun, log opLog) {
				parFirst(t, b, log)
				if par := log.only(t, "pushed_authorization_request"); par.AuthorizationScheme != "Basic" {
					t.Errorf("PAR request authenticated with %q, want Basic", par.AuthorizationScheme)
				}
			},
		},
		{
			name: "PAR required by the client", clientID: clientPARRequired,
			env: map[string]string{"OIDC_PAR": "true"},
			before: func(t *testing.T, b *breadthRun) {
				// The same client without OIDC_PAR: the OP refuses the
				// authorization request, so the requirement is real.
				assertPARRefused(t, b)
			},
			check: parFirst,
		},
		{
			// No OIDC_PAR: the library pushes because discovery says
			// require_pushed_authorization_requests.
			name: "PAR required by the OP", clientID: clientBasic, opRequiresPAR: true,
			check: parFirst,
		},
		{
			name: "JAR", clientID: clientJAR,
			env: map[string]string{"OIDC_REQUEST_OBJECT": "true", "OIDC_CLIENT_PRIVATE_KEY_FILE": "$KEY"},
			check: func(t *testing.T, b *breadthRun, log opLog) {
				auth := log.first(t, "authorization")
				if ro := auth.RequestObject; ro == nil || ro.Alg != "ES256" || ro.Kid != b.key.jwk.Kid || ro.Typ != "oauth-authz-req+jwt" ||
					!slices.Equal(auth.Params, []string{"client_id", "request", "response_type", "scope"}) {
					t.Errorf("authorization request: parameters %v, request object %+v; want client_id, request, response_type, scope and an ES256 oauth-authz-req+jwt with kid %s",
						auth.Params, ro, b.key.jwk.Kid)
				}
				if n := len(log.all("pushed_authorization_request")); n != 0 {
					t.Errorf("%d PAR requests, want none", n)
				}
				keyAssertion(t, b, log.last(t, "token"))
			},
		},
		{
			name: "JAR pushed via PAR", clientID: clientJAR,
			env: map[string]string{"OIDC_REQUEST_OBJECT": "true", "OIDC_PAR": "true", "OIDC_CLIENT_PRIVATE_KEY_FILE": "$KEY"},
			check: func(t *testing.T, b *breadthRun, log opLog) {
				par := log.only(t, "pushed_authorization_request")
				if ro := par.RequestObject; par.Status != http.StatusCreated || ro == nil || ro.Alg != "ES256" || !slices.Contains(par.Params, "request") {
					t.Errorf("PAR request: %+v, want 201 for a request parameter signed ES256", par)
				}
				keyAssertion(t, b, par)
				if auth := log.first(t, "authorization"); !slices.Equal(auth.Params, []string{"client_id", "request_uri"}) {
					t.Errorf("authorization request parameters %v, want client_id and request_uri only", auth.Params)
				}
				keyAssertion(t, b, log.last(t, "token"))
			},
		},
		{
			name: "DPoP with nonces", clientID: clientDPoP,
			env: map[string]string{"OIDC_DPOP": "true"},
			check: func(t *testing.T, b *breadthRun, log opLog) {
				// Each endpoint first refuses the proof without its nonce;
				// the library retries once with the DPoP-Nonce.
				checkNonceRetry(t, log.all("token"), "Basic", http.StatusBadRequest)
				checkNonceRetry(t, log.all("userinfo"), "DPoP", http.StatusUnauthorized)
				if tok := log.last(t, "token"); tok.TokenType != "DPoP" || tok.AccessToken == nil || !tok.AccessToken.Bound {
					t.Errorf("token answer: token_type %q, access token %+v; want a DPoP-bound token", tok.TokenType, tok.AccessToken)
				}
				if ui := log.last(t, "userinfo"); ui.AccessToken == nil || !ui.AccessToken.Bound {
					t.Errorf("userinfo was called with access token %+v, want the DPoP-bound one", ui.AccessToken)
				}
			},
		},
		{
			name: "JARM jwt", clientID: clientJARM,
			env:   map[string]string{"OIDC_RESPONSE_MODE": "jwt"},
			check: jarm("jwt", http.StatusSeeOther),
		},
		{
			name: "JARM form_post.jwt", clientID: clientJARM,
			env:   map[string]string{"OIDC_RESPONSE_MODE": "form_post.jwt"},
			check: jarm("form_post.jwt", http.StatusOK),
		},
		{
			name: "resource indicator", clientID: clientBasic,
			env:        map[string]string{"OIDC_RESOURCE": apiResource, "OIDC_SCOPES": "openid " + apiScope},
			noUserInfo: true,
			check: func(t *testing.T, b *breadthRun, log opLog) {
				if auth := log.first(t, "authorization"); auth.Resource != apiResource {
					t.Errorf("authorization request resource %q, want %s", auth.Resource, apiResource)
				}
				tok := log.last(t, "token")
				if at := tok.AccessToken; tok.Resource != apiResource || at == nil || at.Aud != apiResource || at.Scope != apiScope {
					t.Errorf("token request resource %q, access token %+v; want aud %s and scope %s", tok.Resource, at, apiResource, apiScope)
				}
				// The UserInfo endpoint refuses the resource server's token:
				// its scope lacks openid (and its aud is not the OP).
				if ui := log.last(t, "userinfo"); ui.Status != http.StatusForbidden || ui.Error != "insufficient_scope" {
					t.Errorf("userinfo answered %d %q, want 403 insufficient_scope", ui.Status, ui.Error)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runBreadth(t, c) })
	}
}

// runBreadth starts the OP and the example app for c, signs in with the
// browser, checks /me and /me/userinfo, then what the OP received.
func runBreadth(t *testing.T, c breadthCase) {
	requireBrowser(t) // before starting anything: skip early without one
	bin := exampleBinary(t)
	b := &breadthRun{origin: "http://" + freeAddr(t), key: newClientKey(t, t.TempDir())}
	secret := randomString(t)
	b.op = startNode(t, nodeConfig{Clients: breadthClients(b.origin, secret, b.key), RequirePAR: c.opRequiresPAR})
	b.env = []string{"OIDC_ISSUER=" + b.op.Issuer(), "OIDC_CLIENT_ID=" + c.clientID}
	if c.env["OIDC_CLIENT_PRIVATE_KEY_FILE"] == "" {
		b.env = append(b.env, "OIDC_CLIENT_SECRET="+secret)
	}
	for k, v := range c.env {
		b.env = append(b.env, k+"="+strings.ReplaceAll(v, "$KEY", b.key.file))
	}
	if c.before != nil {
		c.before(t, b)
	}
	startExample(t, bin, b.origin, b.env)

	ctx := newBrowserContext(t)
	navigate(t, ctx, b.origin+"/me")
	if _, steps := browse(t, ctx, b.op, "alice", at(b.origin+"/me")); len(steps) == 0 || steps[0] != "login" {
		t.Fatalf("login went through %v, want the OP's login form first", steps)
	}
	status, body := fetchText(t, ctx, "/me")
	var me struct {
		Claims struct {
			Sub string `json:"sub"`
			Aud string `json:"aud"`
			Iss string `json:"iss"`
		} `json:"claims"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(body), &me); status != http.StatusOK || err != nil {
		t.Fatalf("/me: %d %s (%v)", status, body, err)
	}
	if me.Claims.Sub != b.op.account("alice").subject || me.Claims.Aud != c.clientID || me.Claims.Iss != b.op.Issuer() ||
		me.ExpiresAt == nil || !me.ExpiresAt.After(time.Now()) {
		t.Errorf("/me: %s", body)
	}

	status, body = fetchText(t, ctx, "/me/userinfo")
	if c.noUserInfo {
		if status == http.StatusOK {
			t.Errorf("/me/userinfo: 200 %s, want a refusal", body)
		}
		t.Logf("/me/userinfo: status %d (the OP refused the access token)", status)
	} else {
		var info struct{ Sub, Email string }
		if err := json.Unmarshal([]byte(body), &info); status != http.StatusOK || err != nil ||
			info.Sub != me.Claims.Sub || info.Email != "alice@example.com" {
			t.Errorf("/me/userinfo: %d %s (%v), want sub %s and email alice@example.com", status, body, err, me.Claims.Sub)
		}
	}

	reqs, err := b.op.requests(ctx)
	if err != nil {
		t.Fatalf("OP request log: %v", err)
	}
	log := opLog(reqs)
	t.Cleanup(func() {
		if t.Failed() {
			for i, r := range reqs {
				j, _ := json.Marshal(r)
				t.Logf("OP request %d: %s", i, j)
			}
		}
	})
	// Every case: one code redeemed at the token endpoint, by this client.
	if tok := log.last(t, "token"); tok.Status != http.StatusOK || tok.ClientID != c.clientID || !slices.Contains(tok.Params, "code_verifier") {
		t.Errorf("last token request: %+v, want 200 for %s with a code_verifier", tok, c.clientID)
	}
	if c.check != nil {
		c.check(t, b, log)
	}
}

// checkNonceRetry checks rs, an endpoint's requests with DPoP proofs: the
// first (no nonce) refused with use_dpop_nonce and status refused, the
// second (with the nonce) answered 200; scheme is their Authorization
// scheme.
func checkNonceRetry(t *testing.T, rs []opRequest, scheme string, refused int) {
	t.Helper()
	ok := len(rs) == 2 &&
		rs[0].Status == refused && rs[0].Error == "use_dpop_nonce" && rs[0].DPoP != nil && !rs[0].DPoP.Nonce &&
		rs[1].Status == http.StatusOK && rs[1].DPoP != nil && rs[1].DPoP.Nonce
	for _, r := range rs {
		ok = ok && r.AuthorizationScheme == scheme && r.DPoP.Alg == "ES256" && r.DPoP.Typ == "dpop+jwt"
	}
	if !ok {
		j, _ := json.Marshal(rs)
		t.Errorf("DPoP requests %s, want %d use_dpop_nonce for a proof without nonce, then 200 for one with it (ES256 dpop+jwt, Authorization %q)",
			j, refused, scheme)
	}
}

// assertPARRefused runs the app with b.env but without OIDC_PAR, starts a
// login and checks that the OP sends the browser back with invalid_request.
func assertPARRefused(t *testing.T, b *breadthRun) {
	t.Helper()
	var env []string
	for _, kv := range b.env {
		if !strings.HasPrefix(kv, "OIDC_PAR=") {
			env = append(env, kv)
		}
	}
	stop := startExample(t, exampleBinary(t), b.origin, env)
	defer stop()
	noRedirect := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	loc := b.origin + "/auth/login"
	for range 2 { // the app sends the browser to the OP, which answers
		resp, err := noRedirect.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc = resp.Header.Get("Location"); loc == "" {
			t.Fatalf("GET %s: status %d, no Location", resp.Request.URL, resp.StatusCode)
		}
	}
	u := mustURL(t, loc)
	if q := u.Query(); !strings.HasPrefix(loc, b.origin+"/auth/callback?") || q.Get("error") != "invalid_request" ||
		!strings.Contains(q.Get("error_description"), "Pushed Authorization Request") {
		t.Fatalf("without PAR the OP answered %s, want invalid_request (PAR required) at the callback", loc)
	}
}

// opLog is the OP's request log with lookups by route.
type opLog []opRequest

func (l opLog) all(route string) []opRequest {
	var out []opRequest
	for _, r := range l {
		if r.Route == route {
			out = append(out, r)
		}
	}
	return out
}

func (l opLog) first(t *testing.T, route string) opRequest {
	t.Helper()
	rs := l.all(route)
	if len(rs) == 0 {
		t.Fatalf("the OP saw no %s request", route)
	}
	return rs[0]
}

func (l opLog) last(t *testing.T, route string) opRequest {
	t.Helper()
	rs := l.all(route)
	if len(rs) == 0 {
		t.Fatalf("the OP saw no %s request", route)
	}
	return rs[len(rs)-1]
}

func (l opLog) only(t *testing.T, route string) opRequest {
	t.Helper()
	if rs := l.all(route); len(rs) != 1 {
		t.Fatalf("the OP saw %d %s requests, want 1", len(rs), route)
	}
	return l.first(t, route)
}

func hasAll(list []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}

// fetchText GETs path from the tab's page, as the page's script would (the
// tab's cookies), and returns the status and body.
func fetchText(t *testing.T, ctx context.Context, path string) (int, string) {
	t.Helper()
	type answer struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	a, err := chromedp.Run(ctx, chromedp.Evaluate[answer](
		`fetch(`+jsString(path)+`).then(async r => ({status: r.status, body: await r.text()}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s: %v", path, err)
	}
	return a.Status, a.Body
}

// exampleBuild is the example app, built once per test binary.
var exampleBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// exampleBinary builds ../example on first use (in the library's module,
// whose go.mod has the example's dependencies) and returns its path.
func exampleBinary(t *testing.T) string {
	t.Helper()
	exampleBuild.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			exampleBuild.err = fmt.Errorf("no go on PATH: %w", err)
			return
		}
		if exampleBuild.dir, err = os.MkdirTemp("", "oidcmw-interop-example-"); err != nil {
			exampleBuild.err = err
			return
		}
		exampleBuild.bin = filepath.Join(exampleBuild.dir, "example")
		// The example is a module of its own (with a replace of the
		// library), so it builds in its directory with or without go.work.
		cmd := exec.Command(goTool, "build", "-o", exampleBuild.bin, ".")
		cmd.Dir = "../example"
		if out, err := cmd.CombinedOutput(); err != nil {
			exampleBuild.err = fmt.Errorf("go build in ../example: %v\n%s", err, out)
		}
	})
	if exampleBuild.err != nil {
		t.Fatal(exampleBuild.err)
	}
	return exampleBuild.bin
}

// removeExampleBuild deletes the built example; TestMain calls it.
func removeExampleBuild() {
	if exampleBuild.dir != "" {
		os.RemoveAll(exampleBuild.dir)
	}
}

// freeAddr returns 127.0.0.1:<port> for a port that was free a moment ago
// (the example has no port 0: its redirect URI, registered at the OP
// first, names the port).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startExample runs the example app at origin with env (and nothing else
// of this process's environment), waits until GET / answers 200, and stops
// it at cleanup or when stop is called. The app's output is printed when
// the test fails.
func startExample(t *testing.T, bin, origin string, env []string) (stop func()) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"ADDR=" + strings.TrimPrefix(origin, "http://")}, env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start example: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("example app (%s):\n%s", origin, out.String())
		}
	})

	// Polling is unavoidable: the app binds its port after discovery.
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("example exited before it served (%v):\n%s", cmd.ProcessState, out.String())
		default:
		}
		if resp, err := client.Get(origin + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("example did not serve %s/ within 15s:\n%s", origin, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
