// Encrypted access tokens made by independent implementations, for the service's JWE checks.
//
//   node jwe.mjs cases <public key PEM> <kid> <another public key PEM> <signed JWT>
//     prints one JSON object: a JWE per case, made with panva's jose (and node:crypto for RSA1_5,
//     which jose no longer implements): "accepted" (RSA-OAEP-256, A256GCM, cty JWT, the kid),
//     "no_kid", "wrong_key", "rsa1_5", "dir", "a128gcm", "rsa_oaep_sha1", "corrupted_tag",
//     "unsigned" (an alg none token inside), "compressed" (zip DEF), "no_cty".
//
//   node jwe.mjs provider <API audience> <public key PEM> <kid>
//     runs panva's oidc-provider with one client_credentials client and this API as a resource
//     whose access tokens are RS256 JWTs encrypted to the key (its jwt.encrypt option); prints
//     "issuer <URL>" once it listens, then "token <JWE>" for a token it issued itself.

import { createPublicKey, createSecretKey, publicEncrypt, constants, randomBytes, createCipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import { CompactEncrypt, importSPKI } from "jose";

const [mode, ...args] = process.argv.slice(2);

const b64 = (bytes) => Buffer.from(bytes).toString("base64url");

async function jwe(plaintext, key, header) {
  return new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader(header).encrypt(key);
}

/// RSA1_5 key wrapping with A256GCM content encryption, by hand.
function rsa15(plaintext, publicPem) {
  const protectedHeader = b64(JSON.stringify({ alg: "RSA1_5", enc: "A256GCM", cty: "JWT" }));
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const wrapped = publicEncrypt({ key: createPublicKey(publicPem), padding: constants.RSA_PKCS1_PADDING }, cek);
  const cipher = createCipheriv("aes-256-gcm", cek, iv);
  cipher.setAAD(Buffer.from(protectedHeader));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [protectedHeader, b64(wrapped), b64(iv), b64(ciphertext), b64(cipher.getAuthTag())].join(".");
}

if (mode === "cases") {
  const [publicPath, kid, otherPath, signed] = args;
  const publicPem = readFileSync(publicPath, "utf8");
  const rsaOaep256 = await importSPKI(publicPem, "RSA-OAEP-256");
  const rsaOaep = await importSPKI(publicPem, "RSA-OAEP");
  const other = await importSPKI(readFileSync(otherPath, "utf8"), "RSA-OAEP-256");
  const header = { alg: "RSA-OAEP-256", enc: "A256GCM", cty: "JWT", kid };
  const accepted = await jwe(signed, rsaOaep256, header);
  const parts = accepted.split(".");
  const tag = Buffer.from(parts[4], "base64url");
  tag[0] ^= 1;
  const payload = signed.split(".")[1];
  const cases = {
    accepted,
    no_kid: await jwe(signed, rsaOaep256, { alg: "RSA-OAEP-256", enc: "A256GCM", cty: "JWT" }),
    wrong_key: await jwe(signed, other, { alg: "RSA-OAEP-256", enc: "A256GCM", cty: "JWT" }),
    rsa1_5: rsa15(signed, publicPem),
    dir: await jwe(signed, createSecretKey(randomBytes(32)), { alg: "dir", enc: "A256GCM", cty: "JWT" }),
    a128gcm: await jwe(signed, rsaOaep256, { ...header, enc: "A128GCM" }),
    rsa_oaep_sha1: await jwe(signed, rsaOaep, { ...header, alg: "RSA-OAEP" }),
    corrupted_tag: [...parts.slice(0, 4), b64(tag)].join("."),
    unsigned: await jwe(`${b64(JSON.stringify({ alg: "none" }))}.${payload}.`, rsaOaep256, header),
    compressed: await jwe(signed, rsaOaep256, { ...header, zip: "DEF" }).catch(() => null),
    no_cty: await jwe(signed, rsaOaep256, { alg: "RSA-OAEP-256", enc: "A256GCM", kid }),
  };
  console.log(JSON.stringify(cases));
} else if (mode === "provider") {
  const [audience, publicPath, kid] = args;
  const { default: Provider, errors } = await import("oidc-provider");
  const key = createPublicKey(readFileSync(publicPath, "utf8"));
  const server = (await import("node:http")).createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: "machine",
        client_secret: "a secret of the interop test",
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
      },
    ],
    scopes: ["read:messages"],
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          return {
            scope: "read:messages",
            audience,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "RS256" }, encrypt: { alg: "RSA-OAEP-256", enc: "A256GCM", key, kid } },
          };
        },
      },
    },
  });
  server.on("request", provider.callback());
  console.log(`issuer ${issuer}`);
  const response = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from("machine:a secret of the interop test").toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "read:messages", resource: audience }),
  });
  const body = await response.json();
  if (!body.access_token) {
    console.error(JSON.stringify(body));
    process.exit(1);
  }
  console.log(`token ${body.access_token}`);
} else {
  console.error("usage: node jwe.mjs cases <public PEM> <kid> <other public PEM> <signed JWT> | provider <audience> <public PEM> <kid>");
  process.exit(2);
}
