// A real OpenID provider for the console's single sign-on tests: node-oidc-provider (npm `oidc-provider`,
// installed by tests/support/oidc_provider.py into ~/.cache/runbook-npm/oidc, never globally), on 127.0.0.1
// at a free port. One static client, the console under test (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_REDIRECT_URI), with PKCE required; the provider's development login page (any login, any password),
// whose account's claims come from OIDC_ACCOUNTS (login -> claims, e.g. {"ana": {"groups": [...]}}).
// Prints "issuer <url>" once it listens; stops on SIGTERM.
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },  // a confidential client too: the console always sends S256
  // The claims of the scopes asked for go into the ID token itself (the console reads them there).
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    groups: ['groups', 'team'],
  },
  async findAccount(ctx, id) {
    const claims = accounts[id] || {};  // any other login: an account with no groups
    return {
      accountId: id,
      async claims() { return { sub: id, preferred_username: id, ...claims }; },
    };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['runbook-tests-only'] },
});
provider.on('server_error', (ctx, error) => { console.error(`server_error: ${error.message}`); });
server.on('request', provider.callback());
console.log(`issuer ${issuer}`);

process.on('SIGTERM', () => { server.close(); process.exit(0); });
