// server.js runs panva's oidc-provider (a certified OpenID Provider) for the
// oidcmw interop suite. The Go tests start it with os/exec and read its first
// stdout line.
//
// Environment:
//   PORT            port on 127.0.0.1; 0 or unset picks a free one
//   OP_CONFIG       JSON {"clients": [...]}: client metadata as in OpenID
//                   Connect Dynamic Client Registration 1.0 §2, plus the
//                   suite's own access_token_ttl (seconds; see below).
//                   "require_pushed_authorization_requests": true makes PAR
//                   mandatory for every client (and says so in discovery).
//   OP_CONFIG_FILE  the same JSON in a file (used when OP_CONFIG is unset)
//
// Stdout: one JSON line once it listens, {"issuer": "...", "kids": [...]}.
//
// GET /__log (before the provider sees the request) answers what the OP
// received so far: one entry per request to a provider route (see
// logEntry), never a token, a secret or a code.
//
// POST /__rotate (before the provider sees the request) replaces every
// signing key with new ones and answers {"kids": [...]}. oidc-provider reads
// its JWKS only when it is constructed, so a rotation builds a new Provider
// on the same listener; the memory adapter's storage is module-wide and the
// cookie keys stay, so OP sessions and grants survive it.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(process.env.OP_CONFIG
  ?? (process.env.OP_CONFIG_FILE ? fs.readFileSync(process.env.OP_CONFIG_FILE, 'utf8') : '{}'));
// access_token_ttl is not client metadata (oidc-provider would refuse it):
// it is taken out here and applied by ttl.AccessToken to that client's
// access tokens.
const accessTokenTTLs = new Map();
const clients = (config.clients ?? []).map(({ access_token_ttl: ttl, ...metadata }) => {
  if (ttl) accessTokenTTLs.set(metadata.client_id, ttl);
  return metadata;
});
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];
// DPoP nonces (RFC 9449 §8) are made and checked with this secret; kept
// across key rotations like the cookie keys.
const dpopNonceSecret = crypto.randomBytes(32);

// The resource server that resource indicators (RFC 8707) may name: its
// access tokens carry it as aud and only its scope.
const resourceServers = new Map([
  ['https://api.interop.test/', { scope: 'api:read', audience: 'https://api.interop.test/' }],
]);

// What the OP received, in order (GET /__log).
const requestLog = [];

// jwtHeader returns alg, kid and typ of a compact JWS, or undefined.
function jwtHeader(jwt) {
  if (typeof jwt !== 'string') return undefined;
  try {
    const { alg, kid, typ } = JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());
    return { alg, kid, typ };
  } catch {
    return undefined;
  }
}

// jwtHasClaim reports whether a compact JWS's payload has the claim (read,
// not verified: the provider verified it).
function jwtHasClaim(jwt, claim) {
  try {
    return claim in JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
  } catch {
    return false;
  }
}

// responseParams lists the names of the authorization response parameters
// an answer carries: the query of a redirect to the client's redirect_uri,
// or the hidden inputs of a form_post page.
function responseParams(ctx) {
  const redirectURI = ctx.oidc.params?.redirect_uri;
  const location = ctx.response.get('location');
  if (redirectURI && location?.startsWith(redirectURI)) {
    return [...new URL(location).searchParams.keys()];
  }
  if (typeof ctx.body === 'string' && ctx.body.includes(`action="${redirectURI}"`)) {
    return [...ctx.body.matchAll(/<input type="hidden" name="([^"]+)"/g)].map((m) => m[1]);
  }
  return undefined;
}

// logEntry describes a request to one of the provider's routes and its
// answer: names of parameters, header algorithms, token metadata; no values
// of secrets, codes or tokens.
function logEntry(ctx) {
  const { oidc } = ctx;
  const raw = (ctx.method === 'POST' ? oidc.body : ctx.query) ?? {};
  const dpop = ctx.get('dpop');
  const at = oidc.entities.AccessToken;
  const body = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
  return {
    route: oidc.route,
    method: ctx.method,
    status: ctx.status,
    params: Object.keys(raw).sort(),
    client_id: oidc.client?.clientId,
    client_assertion: jwtHeader(raw.client_assertion),
    request_object: jwtHeader(raw.request),
    authorization_scheme: ctx.get('authorization').split(' ')[0] || undefined,
    dpop: dpop ? { ...jwtHeader(dpop), nonce: jwtHasClaim(dpop, 'nonce') } : undefined,
    response_mode: ['authorization', 'resume'].includes(oidc.route) ? oidc.params?.response_mode : undefined,
    response_params: ['authorization', 'resume'].includes(oidc.route) ? responseParams(ctx) : undefined,
    resource: oidc.params?.resource,
    error: body.error,
    token_type: body.token_type,
    access_token: at && {
      bound: at.isSenderConstrained(),
      aud: at.resourceServer?.audience ?? at.aud,
      scope: at.scope,
    },
  };
}

// signingKeys returns a fresh RSA, EC P-256 and Ed25519 key as private JWKs.
// The RSA key has no "alg", so it serves both RS256 and PS256.
function signingKeys() {
  const pairs = [
    crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }),
    crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    crypto.generateKeyPairSync('ed25519'),
  ];
  return pairs.map(({ privateKey }) => ({
    ...privateKey.export({ format: 'jwk' }),
    kid: crypto.randomBytes(8).toString('hex'),
    use: 'sig',
  }));
}

// Pages without the default templates' web font: nothing leaves the machine.
function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

function newProvider(issuer, keys) {
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys },
    // The RP posts its end-session request (RP-Initiated Logout 1.0 §2;
    // oidcmw's default): oidc-provider serves POST there only with
    // enableHttpPostMethods, which needs SameSite=None cookies, and those
    // need Secure, which Chromium keeps on 127.0.0.1 (see the middleware
    // below that lets Koa set them over http).
    enableHttpPostMethods: true,
    cookies: {
      keys: cookieKeys,
      long: { httpOnly: true, sameSite: 'none', secure: true },
      short: { httpOnly: true, sameSite: 'none', secure: true },
    },
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 supports
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.com`, email_verified: true, name: id };
        },
      };
    },
    ttl: {
      // The default (1 h) unless the client's access_token_ttl says otherwise.
      AccessToken: (_ctx, token, client) => accessTokenTTLs.get(client?.clientId)
        ?? token.resourceServer?.accessTokenTTL ?? 60 * 60,
    },
    // oidc-provider's outgoing requests (here: back-channel logout) refuse
    // special-use addresses, loopback included, as SSRF protection (the
    // dispatcher it passes in options). The suite's RPs listen on loopback,
    // so requests to loopback go through Node's default dispatcher; any
    // other URL keeps the protection.
    fetch(url, options) {
      const { hostname } = new URL(url);
      if (hostname === '127.0.0.1' || hostname === 'localhost') {
        const { dispatcher: _ssrfProtection, ...rest } = options;
        return globalThis.fetch(url, rest);
      }
      return globalThis.fetch(url, options);
    },
    // Every refresh returns a new refresh token and consumes the old one
    // (the default rotates only for public clients, or after 70% of the
    // token's lifetime); a reused one revokes the grant.
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: true }, // login form (any login/password) and consent
      // RFC 9126, on by default in oidc-provider 9; a client may also
      // register require_pushed_authorization_requests.
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: config.require_pushed_authorization_requests === true,
      },
      // JAR (RFC 9101): request objects in request (or pushed); clients may
      // register request_object_signing_alg and require_signed_request_object.
      requestObjects: { enabled: true },
      // JARM: response_mode jwt, query.jwt, form_post.jwt (signed with the
      // client's authorization_signed_response_alg, RS256 by default).
      jwtResponseModes: { enabled: true },
      // DPoP (RFC 9449) with nonces required at every endpoint that
      // takes a proof (token, userinfo): a proof without the OP's current
      // nonce gets use_dpop_nonce and a DPoP-Nonce header.
      dPoP: { enabled: true, nonceSecret: dpopNonceSecret, requireNonce: () => true },
      // RFC 8707: resource names one of resourceServers; its access tokens
      // (opaque, the default format) have its audience and scope, and the
      // UserInfo endpoint refuses them.
      resourceIndicators: {
        enabled: true,
        async getResourceServerInfo(_ctx, resourceIndicator) {
          const info = resourceServers.get(resourceIndicator);
          if (!info) throw new errors.InvalidTarget();
          return info;
        },
      },
      // Logout tokens go to each client of the ending OP session that
      // registered a backchannel_logout_uri; with
      // backchannel_logout_session_required they and its ID tokens carry sid.
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Logout Request', `<h1>Do you want to sign-out from ${ctx.host}?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Sign-out Success', '<h1>Sign-out Success</h1>');
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('oops', `<h1>oops! something went wrong</h1><pre id="error">${
        Object.entries(out).map(([k, v]) => `${k}: ${String(v).replace(/[<>&]/g, '')}`).join('\n')}</pre>`);
    },
  });
  // Koa refuses Secure cookies on a connection it does not see as secure.
  // Loopback is a secure context for the browser, so the request counts as
  // secure here; its protocol, and so every URL the OP builds, stays http.
  provider.use(async (ctx, next) => {
    Object.defineProperty(ctx.request, 'secure', { value: true, configurable: true });
    await next();
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route) requestLog.push(logEntry(ctx));
  });
  // Failed deliveries do not fail the logout at the OP; say so on stderr,
  // which the test prints when it fails.
  provider.on('backchannel.error', (_ctx, err, client, _accountId, sid) => {
    console.error(`backchannel.error client=${client.clientId} sid=${sid}: ${err.message}`);
  });
  // RFC 9207: oidc-provider 9 always sends iss in authorization responses
  // and advertises authorization_response_iss_parameter_supported.
  return { provider, callback: provider.callback() };
}

const kids = (keys) => keys.map((k) => k.kid);

let current;
let currentKeys;
let issuer;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__log') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(requestLog));
    return;
  }
  if (req.method === 'POST' && req.url === '/__rotate') {
    currentKeys = signingKeys();
    current = newProvider(issuer, currentKeys);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kids: kids(currentKeys) }));
    return;
  }
  current.callback(req, res);
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  currentKeys = signingKeys();
  current = newProvider(issuer, currentKeys);
  process.stdout.write(`${JSON.stringify({ issuer, kids: kids(currentKeys) })}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
