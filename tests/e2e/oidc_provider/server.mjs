// A real authorization server for the live tests: panva's oidc-provider (OpenID
// certified) with pushed authorization requests, DPoP (nonces required) and
// private_key_jwt, on 127.0.0.1:$PORT. The clients come from $OIDC_CLIENTS (JSON).
// Its development interactions log in any username with any password.
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS ?? '[]');

const provider = new Provider(issuer, {
  clients,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  features: {
    devInteractions: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access'],
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // The server refuses to fetch from special-use addresses (SSRF protection), but the
  // site whose jwks_uri it fetches is the test's live server on loopback: allowed here,
  // and only here.
  fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
});

// The reasons behind an error reply, for the test's server log (never a token).
for (const event of ['grant.error', 'pushed_authorization_request.error', 'revocation.error', 'userinfo.error', 'authorization.error', 'server_error']) {
  provider.on(event, (ctx, error) => {
    console.log(`${event}: ${error.error ?? error.name} ${error.error_description ?? ''} ${error.error_detail ?? ''} ${error.cause?.message ?? ''} ${error.cause?.cause?.message ?? ''}`);
  });
}

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
