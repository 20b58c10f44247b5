// A certified OpenID provider on 127.0.0.1 for the login test: panva's oidc-provider with its
// development sign-in pages, one public client (Swagger UI at the service's /docs) that must use
// PKCE, and this API as a resource (RFC 8707) whose access tokens are RS256 JWTs with the scope
// read:messages. Prints "issuer <URL>" once it listens.
//
// usage: node oidc_provider.mjs <client id> <redirect URI> <API audience>

import Provider, { errors } from "oidc-provider";

const [clientId, redirectUri, audience] = process.argv.slice(2);
if (!clientId || !redirectUri || !audience) {
  console.error("usage: node oidc_provider.mjs <client id> <redirect URI> <API audience>");
  process.exit(2);
}

const server = (await import("node:http")).createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      token_endpoint_auth_method: "none",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  pkce: { required: () => true },
  scopes: ["openid", "read:messages"],
  // The docs exchange the code from the browser, at another origin.
  clientBasedCORS: () => true,
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== audience) throw new errors.InvalidTarget();
        return { scope: "read:messages", audience, accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } } };
      },
    },
  },
});
server.on("request", provider.callback());
console.log(`issuer ${issuer}`);
