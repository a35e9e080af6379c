package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/idjwt"
	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/rd"
	"github.com/oidcmw/oidcmw/internal/appenv"
)

// config is the proxy's own configuration, from its flags (the OpenID
// Connect client, the store and the metrics come from the environment, as
// in the example).
type config struct {
	addr              string
	addrName          string   // "--addr" or "ADDR", for errors
	upstream          *url.URL // nil with --forward-auth
	forwardAuth       bool
	dev               bool
	rules             rules
	groupsClaim       string
	public            publicRoutes
	trusted           trustedProxies
	passAuthorization bool
	passAccessToken   bool
	rdDomains         []string   // --rd-domain, checked by rd.Policy.Validate
	jwt               *jwtConfig // --inject-jwt; nil without it
}

// jwtConfig is the identity JWT of --inject-jwt.
type jwtConfig struct {
	audience string        // --jwt-audience, else the --upstream URL
	ttl      time.Duration // --jwt-ttl
	keyFile  string        // --jwt-key-file; "" generates a key per process
}

// defaultAddr is where the proxy listens without --addr or ADDR.
const defaultAddr = "127.0.0.1:4180"

// flagValues are the flags as given, before parseFlags checks them.
type flagValues struct {
	addr, upstream, groupsClaim                             string
	dev, passAuthorization, passAccessToken                 bool
	forwardAuth, injectJWT                                  bool
	jwtAudience, jwtKeyFile                                 string
	jwtTTL                                                  time.Duration
	domains, groups, subjects, public, trustedIn, rdDomains list
}

// newFlagSet defines the flags into v. It writes nothing: parseFlags
// returns errors and main prints the usage for -h.
func newFlagSet(v *flagValues, getenv func(string) string) *flag.FlagSet {
	fs := flag.NewFlagSet("oidcmw-proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&v.addr, "addr", appenv.Getenv(getenv, "ADDR", defaultAddr), "listen `host:port`; ADDR sets the default")
	fs.StringVar(&v.upstream, "upstream", "", "the `URL` of the app to protect: http(s)://host:port (required, unless --forward-auth)")
	fs.BoolVar(&v.forwardAuth, "forward-auth", false, "instead of proxying, answer a front end's auth requests at /oauth2/auth (nginx auth_request, Traefik, Caddy, Envoy); needs --trusted-proxy, not with --upstream")
	fs.BoolVar(&v.dev, "dev", false, "without OIDC_ISSUER: start the embedded development provider, which signs everyone in as a test user")
	v.domains.commas, v.trustedIn.commas, v.rdDomains.commas = true, true, true
	fs.Var(&v.domains, "allowed-email-domain", "allow users whose verified email is at this `domain` exactly (repeatable, or a comma list)")
	fs.Var(&v.groups, "allowed-group", "allow members of this `group` (repeatable)")
	fs.Var(&v.subjects, "allowed-subject", "allow the user with this `sub` (repeatable)")
	fs.StringVar(&v.groupsClaim, "groups-claim", "groups", "the `claim` holding the user's groups (a string or an array of strings)")
	fs.Var(&v.public, "public-route", "serve `\"METHOD PATTERN\"` without login: METHOD is * or a method, PATTERN a path prefix (/static/) or an anchored regexp (^/api/[^/]+/status$) (repeatable)")
	fs.Var(&v.trustedIn, "trusted-proxy", "believe X-Forwarded-For/-Proto/-Host from these `CIDRs`, and with --forward-auth answer /oauth2/auth to them only (repeatable, or a comma list; default none)")
	fs.BoolVar(&v.passAuthorization, "pass-authorization", false, "pass the client's Authorization header to the upstream (default: dropped)")
	fs.BoolVar(&v.passAccessToken, "pass-access-token", false, "send the user's access token in "+headerAccessToken+" (to the upstream, or in the answer of /oauth2/auth)")
	fs.Var(&v.rdDomains, "rd-domain", "let /oauth2/start?rd= send the browser after login to an absolute URL at this `domain`: example.com exactly, .example.com its subdomains (repeatable, or a comma list; default none)")
	fs.BoolVar(&v.injectJWT, "inject-jwt", false, "pass a signed JWT with the identity in "+idjwt.Header+"; its key set is served at /oauth2/jwks")
	fs.StringVar(&v.jwtAudience, "jwt-audience", "", "the `aud` of the JWT (default: the --upstream URL; required with --forward-auth)")
	fs.DurationVar(&v.jwtTTL, "jwt-ttl", idjwt.DefaultTTL, "the JWT's `lifetime`, 1s to 10m")
	fs.StringVar(&v.jwtKeyFile, "jwt-key-file", "", "PEM (PKCS #8) `file` with the JWT's signing key: ECDSA, RSA or Ed25519 (default: a P-256 key generated per process; replicas must share a key)")
	return fs
}

// parseFlags parses and checks args. Every error names its flag, or the
// variable, in one line. -h and --help give flag.ErrHelp.
func parseFlags(args []string, getenv func(string) string) (*config, error) {
	var v flagValues
	fs := newFlagSet(&v, getenv)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag (see -h)", fs.Arg(0))
	}
	c := &config{addr: v.addr, addrName: "--addr", dev: v.dev, groupsClaim: v.groupsClaim, forwardAuth: v.forwardAuth,
		passAuthorization: v.passAuthorization, passAccessToken: v.passAccessToken}
	if getenv("ADDR") != "" && fs.Lookup("addr").Value.String() == getenv("ADDR") {
		c.addrName = "ADDR"
	}
	var err error
	switch {
	case c.forwardAuth && v.upstream != "":
		return nil, errors.New("--upstream and --forward-auth exclude each other: either proxy to the app, or answer a front end's auth requests")
	case c.forwardAuth && c.passAuthorization:
		return nil, errors.New("--pass-authorization applies to --upstream only: with --forward-auth the front end passes Authorization to the app")
	case !c.forwardAuth:
		if c.upstream, err = parseUpstream(v.upstream); err != nil {
			return nil, err
		}
	}
	switch issuer := getenv("OIDC_ISSUER"); {
	case issuer == "" && !c.dev:
		return nil, errors.New("OIDC_ISSUER is not set: set it (with OIDC_CLIENT_ID), or pass --dev for the embedded development provider, which signs everyone in")
	case issuer != "" && c.dev:
		return nil, errors.New("--dev is set with OIDC_ISSUER: the development provider runs only without an issuer")
	}
	for _, d := range v.domains.values {
		if strings.ContainsAny(d, "@ \t") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
			return nil, fmt.Errorf("--allowed-email-domain %q: want a domain such as example.com, matched exactly", d)
		}
		c.rules.domains = append(c.rules.domains, asciiLower(d))
	}
	for _, f := range []struct {
		name   string
		values []string
		to     *[]string
	}{{"--allowed-group", v.groups.values, &c.rules.groups}, {"--allowed-subject", v.subjects.values, &c.rules.subjects}} {
		for _, s := range f.values {
			if s == "" {
				return nil, fmt.Errorf("%s is empty", f.name)
			}
			*f.to = append(*f.to, s)
		}
	}
	if c.groupsClaim == "" {
		return nil, errors.New("--groups-claim is empty")
	}
	for _, s := range v.public.values {
		pr, err := parsePublicRoute(s)
		if err != nil {
			return nil, err
		}
		c.public = append(c.public, pr)
	}
	for _, s := range v.trustedIn.values {
		p, err := parseTrustedProxy(s)
		if err != nil {
			return nil, err
		}
		c.trusted = append(c.trusted, p)
	}
	if c.forwardAuth && len(c.trusted) == 0 {
		return nil, errors.New("--forward-auth needs --trusted-proxy: the front end sends the original method and URI in headers, which are believed only from it")
	}
	for _, d := range v.rdDomains.values {
		if err := (rd.Policy{Domains: []string{d}}).Validate(); err != nil {
			return nil, fmt.Errorf("--rd-domain: %w", err)
		}
		c.rdDomains = append(c.rdDomains, d)
	}
	if c.jwt, err = jwtFlags(fs, &v, c); err != nil {
		return nil, err
	}
	return c, nil
}

// jwtFlags checks the --jwt-* flags, which need --inject-jwt, and returns
// the JWT's configuration, or nil without --inject-jwt.
func jwtFlags(fs *flag.FlagSet, v *flagValues, c *config) (*jwtConfig, error) {
	if !v.injectJWT {
		var set []string
		fs.Visit(func(f *flag.Flag) {
			if strings.HasPrefix(f.Name, "jwt-") {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			return nil, fmt.Errorf("%s is set without --inject-jwt", strings.Join(set, " and "))
		}
		return nil, nil
	}
	j := &jwtConfig{audience: v.jwtAudience, ttl: v.jwtTTL, keyFile: v.jwtKeyFile}
	switch {
	case j.audience == "" && c.forwardAuth:
		return nil, errors.New("--jwt-audience is required with --inject-jwt and --forward-auth: the value the apps check in the JWT's aud")
	case j.audience == "":
		j.audience = c.upstream.String()
	}
	if j.ttl < time.Second || j.ttl > idjwt.MaxTTL {
		return nil, fmt.Errorf("--jwt-ttl %v: want 1s to %v", j.ttl, idjwt.MaxTTL)
	}
	return j, nil
}

// list is a repeatable flag; with commas, each value is also a comma
// list, whose empty elements are an error.
type list struct {
	values []string
	commas bool
}

func (l *list) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, ",")
}

func (l *list) Set(s string) error {
	if !l.commas {
		l.values = append(l.values, s)
		return nil
	}
	for v := range strings.SplitSeq(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return errors.New("empty element in the comma list")
		}
		l.values = append(l.values, v)
	}
	return nil
}
