// DPoP proofs made by panva's `dpop` package (an independent implementation) against the running
// service with its development issuer, for every algorithm the package signs with: a bound token
// from POST /dev/token, GET /api/private with it and a proof (200, cnf.jkt = the package's
// thumbprint), the same proof again (401 invalid_dpop_proof), the token as a bearer token (401).
//
// With `nonce`, the service requires server nonces (RFC 9449 §9): a proof without one gets 401
// use_dpop_nonce with a DPoP-Nonce header; this client retries once with that nonce, as clients
// built on the package do (it only signs), and then keeps the nonce each answer carries.
//
// usage: node dpop_client.mjs <base URL> [nonce]
import { calculateThumbprint, generateKeyPair, generateProof } from "dpop";

const [base, mode] = process.argv.slice(2);
let failures = 0;
const check = (condition, message) => {
  console.log(`${condition ? "ok" : "not ok"} - ${message}`);
  if (!condition) failures += 1;
};

for (const alg of ["ES256", "RS256", "PS256", "Ed25519"]) {
  const keypair = await generateKeyPair(alg);
  const tokenUrl = `${base}/dev/token`;
  const minted = await fetch(tokenUrl, {
    method: "POST",
    headers: { DPoP: await generateProof(keypair, tokenUrl, "POST"), "content-type": "application/json" },
    body: JSON.stringify({ scope: "read:messages" }),
  });
  const body = await minted.json();
  check(minted.status === 200 && body.token_type === "DPoP", `${alg}: POST /dev/token with a proof gives a DPoP token`);
  const token = body.access_token;

  const url = `${base}/api/private`;
  const call = (headers) => fetch(url, { headers });
  let nonce;
  if (mode === "nonce") {
    const first = await call({ Authorization: `DPoP ${token}`, DPoP: await generateProof(keypair, url, "GET", undefined, token) });
    const challenge = first.headers.get("www-authenticate") || "";
    nonce = first.headers.get("dpop-nonce");
    check(first.status === 401 && (await first.json()).error === "use_dpop_nonce", `${alg}: a proof without a nonce: 401 use_dpop_nonce`);
    check(challenge.includes('DPoP realm="protected-api", error="use_dpop_nonce"') && !!nonce, `${alg}: with a DPoP challenge and a DPoP-Nonce header`);
  }
  const proof = await generateProof(keypair, url, "GET", nonce, token);
  const granted = await call({ Authorization: `DPoP ${token}`, DPoP: proof });
  if (mode === "nonce") {
    check(granted.headers.get("dpop-nonce") !== null, `${alg}: the answer carries the nonce to use next`);
    const next = await generateProof(keypair, url, "GET", granted.headers.get("dpop-nonce"), token);
    const again = await call({ Authorization: `DPoP ${token}`, DPoP: next });
    check(again.status === 200, `${alg}: the next request, with the nonce of the last answer: 200`);
  }
  const claims = granted.status === 200 ? (await granted.json()).data : {};
  check(granted.status === 200, `${alg}: GET /api/private with the token and a proof: 200`);
  check(claims.cnf?.jkt === (await calculateThumbprint(keypair.publicKey)), `${alg}: cnf.jkt is the package's thumbprint`);
  const replayed = await call({ Authorization: `DPoP ${token}`, DPoP: proof });
  check(replayed.status === 401 && (await replayed.json()).error === "invalid_dpop_proof", `${alg}: the same proof again: 401 invalid_dpop_proof`);
  const bearer = await call({ Authorization: `Bearer ${token}` });
  check(bearer.status === 401, `${alg}: the bound token as a bearer token: 401`);
}
process.exit(failures === 0 ? 0 : 1);
