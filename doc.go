// Package oidcmw puts OpenID Connect login in front of any net/http handler.
//
// It runs the authorization code flow with PKCE (S256), state and nonce,
// validates the authorization response and the ID token as OpenID Connect
// Core §3.1.3.7 and RFC 9700 ask, keeps tokens on the server in a pluggable
// [Store], and hands handlers the signed-in [Identity] through the request
// context.
//
// # Quick start
//
//	m, err := oidcmw.New(oidcmw.Options{
//		Issuer:       "https://accounts.example.com",
//		ClientID:     "my-app",
//		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
//		RedirectURL:  "https://app.example.com/auth/callback",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /auth/login", m.Login)       // /auth/login?return_to=/somewhere
//	mux.HandleFunc("GET /auth/callback", m.Callback) // POST too with ResponseMode "form_post"
//	mux.HandleFunc("POST /auth/logout", m.Logout)
//	mux.HandleFunc("POST /auth/backchannel-logout", m.BackchannelLogout)
//	mux.Handle("GET /{$}", m.Optional(http.HandlerFunc(home))) // public, knows who is signed in
//	mux.Handle("GET /me", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		id, _ := oidcmw.FromContext(r.Context())
//		var c struct{ Email string `json:"email"` }
//		_ = id.Claims(&c)
//		fmt.Fprintf(w, "hello %s (%s)", id.Subject, c.Email)
//	})))
//	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
//
// Or let [Middleware.Routes] serve login, callback, logout and
// back-channel logout under the directory of the path of
// [Options.RedirectURL], and wrap the whole mux in the guard, which lets
// exactly those four paths through:
//
//	mux := http.NewServeMux()
//	mux.Handle("/auth/", m.Routes())
//	mux.HandleFunc("GET /me", me)
//	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Guard(mux)))
//
// When you mount the handlers yourself at other paths, keep
// BackchannelLogout outside the guard (the provider calls it without a
// session). chi and gorilla/mux take the same method values
// (r.Use(m.Guard), r.Get("/auth/callback", m.Callback)); the example
// module shows both.
//
// # What is checked, in order
//
// At the callback, nothing is trusted before it passes:
//
//  1. no parameter repeated or oversized (64 KiB body, 8 KiB a parameter);
//  2. the pending login named by state exists, is taken once (a replay finds
//     nothing), has not expired ([Options.LoginTimeout]) and was started by
//     this browser (the login cookie);
//  3. state equals the saved one;
//  4. the RFC 9207 iss parameter equals the issuer when present, and is
//     required when discovery advertises
//     authorization_response_iss_parameter_supported;
//  5. only then an error response is reported ([ProviderError]);
//  6. the code is present and is redeemed with the PKCE verifier and the
//     exact redirect_uri;
//  7. the token response: HTTP status, JSON, token_type Bearer (any case),
//     id_token present;
//  8. the ID token, verified by go-oidc's IDTokenVerifier and then by the
//     checks of this package on claims decoded strictly (names matched
//     exactly; a name given twice, even in another case, refuses the
//     token): signature with the provider's JWKS, algorithms from
//     discovery and never "none" or HMAC; iss; aud contains the client id;
//     azp required with several audiences and equal to the client id; exp,
//     iat and nbf within [Options.ClockSkew]; sub present; nonce equal;
//     auth_time when max_age was requested;
//  9. a new session under a new id; then the redirect to where the login
//     started.
//
// A token that no cached key verifies (an unknown kid, or a rotation that
// kept the kid or has none) refetches the JWKS at once, shared by
// concurrent requests; further misses refetch at most once per 5 seconds.
// Keys the JWKS cannot give (unknown kty or curve, RSA over 4096 bits,
// encryption keys) are skipped. Keys expire with the JWKS's Cache-Control
// max-age, kept between 5 minutes and 24 hours (1 hour without it), so a
// key the provider removes stops being trusted; when the refetch at expiry
// fails, the expired keys keep working for 24 hours more, with a warning.
// Failed discovery or JWKS fetches are not cached.
//
// # Status codes
//
// A failed check answers 4xx, an unreachable or broken provider 502 or 504,
// a failing store 503 (see [StatusCode]). A discovery that contradicts the
// configuration is [ErrProviderMisconfigured], not an outage
// ([ErrProviderUnavailable]): [Middleware.Discover] at start-up tells the
// two apart. After a run of failures of the store or the provider, its
// circuit breaker ([Options.CircuitBreaker]) opens, and requests that need
// it answer 503 at once, with Retry-After, until a probe succeeds; a
// session that could not be read is never served. [DefaultErrorHandler]
// never echoes error text, tokens or the provider's descriptions. Browser
// navigations without a session are redirected to log in; API calls (JSON,
// fetch, XHR, any method but GET and HEAD) get 401 and never a redirect.
//
// # Logs and metrics
//
// [Options.Logger] gets one record per failure, with a stable reason, and
// one Info record per login and logout, naming the user by a hash of the
// subject ([Options.OmitSubjectInLogs] leaves it out) and never logging a
// token. An outage of the store or the provider is logged as a whole: one
// warning when it starts, at most one summary per
// [CircuitBreaker].LogInterval, one Info record at recovery. An
// [Options.Observer] is told of each [Event] (logins, refreshes, logouts,
// store errors, circuit changes) for metrics; adapters/otelobserver
// records them with OpenTelemetry. [Options.OnLogout] runs when a session
// ends.
//
// # What is left out, on purpose
//
// Implicit and hybrid flows; HMAC-signed ID tokens; a login UI or user
// database; hooks to skip checks for off-spec providers; forwarded-header
// trust (the redirect URL is configuration, never derived from a request);
// tracing frameworks (the [Observer] and log/slog are the hooks).
//
// # Sessions
//
// A session ends at [Options.IdleTimeout] or [Options.AbsoluteTimeout]. The
// guard refreshes the access token [Options.RefreshMargin] before it
// expires, once for all concurrent requests of the session (and once across
// instances, through a lease in the store). [Middleware.Logout] ends a
// session at the provider too (RP-Initiated Logout), and
// [Middleware.BackchannelLogout] lets the provider end sessions
// (Back-Channel Logout). [Middleware.Require] asks for a recent or stronger
// authentication on some routes (step-up, RFC 9470).
//
// # Protocol options
//
// Off by default, each behind one option: client authentication with JWT
// assertions ([Options.ClientAuthMethod], [Options.ClientKey]), pushed
// authorization requests ([Options.PAR]), signed request objects
// ([Options.RequestObject]), JARM response modes ([Options.ResponseMode]),
// DPoP-bound tokens ([Options.DPoP], [Identity.Transport]), encrypted ID
// tokens ([Options.DecryptionKey]) and several providers in one app
// ([NewProviders]).
//
// # Stores
//
// [MemoryStore] (the default) serves one process. adapters/redisstore
// shares sessions between instances with an atomic one-time take;
// adapters/rueidisstore does the same and answers session reads from Redis
// server-assisted client-side caching (a store with such a cache
// implements [FreshGetter]); adapters/scsstore adapts any scs backend. [Options.SecretKeys] seals the
// stored records so that a store dump holds no usable token.
package oidcmw
