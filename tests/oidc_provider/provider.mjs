// A real OpenID provider for the single sign-on tests: panva's oidc-provider (an
// OpenID Certified implementation) with its own login and consent pages
// ("devInteractions": the subject of an account below as the login, any password).
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"issuer": "http://localhost:PORT", "port": PORT,
//               "clients": [oidc-provider client metadata, ...],
//               "accounts": [{"sub": "...", "claims": {...}}, ...]}
// It prints "ready" on stdout once it listens (tests/helpers/oidc_provider.py waits
// for it). A fresh RSA key signs the ID tokens of each run.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

// An account is found by its subject, an opaque id unlike its username, as at a real
// provider (the development login pages take it as the login). The accounts are read
// afresh each time, so a test can move someone to another group between two logins.
function account(id) {
  const { accounts } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  return accounts.find((a) => a.sub === id);
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // PKCE with S256 for every client, not only public ones.
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const found = account(id);
    if (!found) return undefined;
    return {
      accountId: found.sub,
      async claims() {
        return { sub: found.sub, ...found.claims };
      },
    };
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));

provider.listen(config.port, '127.0.0.1', () => {
  console.log('ready');
});
