// A real, certified OpenID provider (npm's oidc-provider) on loopback for the single sign-on
// tests: its own login page (dev interactions), consent given automatically, refresh tokens,
// RP-initiated logout, and a new signing key at every start (a restart rotates the keys).
// Users come from the JSON file OIDC_USERS (read at every lookup, so a test can take a user
// away), else the two below.
//
//   node end2end/oidc/provider.mjs <port> <redirect_uri>[,<redirect_uri>...]
//
// Prints "ready <issuer>" once listening.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 3500);
const redirects = (process.argv[3] ?? 'http://127.0.0.1:3400/auth/oidc/callback').split(',');
const issuer = `http://127.0.0.1:${port}`;

// Named unlike the demo's local accounts: a provider user never takes over a local one.
const builtIn = {
  nora: { name: 'Nora Example', email: 'nora@example.com',
          groups: ['data-developers', 'data-growth-owners', 'data-ads-members'] },
  omar: { name: 'Omar Example', email: 'omar@example.com', groups: ['data-viewers'] },
};
function users() {
  if (!process.env.OIDC_USERS) return builtIn;
  try {
    return JSON.parse(readFileSync(process.env.OIDC_USERS, 'utf8'));
  } catch {
    return {};
  }
}

// A signing key of its own for every start, as a provider that rotates its keys would have.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const postLogout = redirects.map((r) => new URL('/login', r).toString());
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'watershed',
      client_secret: 'watershed-client-secret',
      redirect_uris: redirects,
      post_logout_redirect_uris: postLogout,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    {
      // Another application at the same provider: its ID tokens are not for Watershed.
      client_id: 'other-app',
      client_secret: 'other-app-client-secret',
      redirect_uris: redirects,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email'],
    groups: ['groups'],
  },
  // The claims asked for by scope go into the ID token, as Keycloak, Entra and Okta do.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // Refresh tokens for every sign-in of a client allowed them, without offline_access consent.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  async findAccount(_ctx, id) {
    const user = users()[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: user.name, email: user.email,
                 groups: user.groups };
      },
    };
  },
  // Consent is given at once: the tests sign in, they do not review scopes.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid offline_access profile email groups');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
