"""Calls the running service through the Python client that openapi-python-client generated from
openapi/openapi.json: typed answers for 200, typed ErrorBody for 401 and 403, the optional token
of GET /api/greeting, and a DPoP-bound token with proofs signed by joserfc (an independent JOSE
implementation).

usage: python3 python_client.py <base URL> <token with read:messages> <token without it> <base URL of a service requiring DPoP nonces>
(the generated package `protected_api_client` and joserfc must be importable)
"""

import base64
import hashlib
import sys
import time
import uuid

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from protected_api_client import AuthenticatedClient, Client
from protected_api_client.api.messages import get_greeting, get_private, get_private_scoped, get_public
from protected_api_client.models import AccessGranted, ErrorBody, Message


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"not ok - {message}")
    print(f"ok - {message}")


def dpop_proof(key: ECKey, method: str, url: str, token: str | None = None, nonce: str | None = None) -> str:
    """A DPoP proof (RFC 9449 §4.2) made with joserfc."""
    claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
    if nonce is not None:
        claims["nonce"] = nonce
    if token is not None:
        digest = hashlib.sha256(token.encode("ascii")).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jwt.encode(header, claims, key)


def check_dpop(base: str) -> None:
    key = ECKey.generate_key("P-256")
    token_url = f"{base}/dev/token"
    minted = httpx.post(token_url, data={"scope": "read:messages"}, headers={"DPoP": dpop_proof(key, "POST", token_url)})
    check(minted.status_code == 200 and minted.json()["token_type"] == "DPoP", "POST /dev/token with a joserfc proof: a DPoP token")
    token = minted.json()["access_token"]

    url = f"{base}/api/private"
    client = AuthenticatedClient(base_url=base, token=token, prefix="DPoP", headers={"DPoP": dpop_proof(key, "GET", url, token)})
    granted = get_private.sync_detailed(client=client)
    check(granted.status_code == 200 and isinstance(granted.parsed, AccessGranted), "GET /api/private with DPoP: a typed AccessGranted")
    jkt = granted.parsed.data.additional_properties["cnf"]["jkt"]
    check(jkt == key.thumbprint(), "the token is bound to the joserfc key's thumbprint")
    replayed = get_private.sync_detailed(client=client)
    check(replayed.status_code == 401 and isinstance(replayed.parsed, ErrorBody), "the same proof again: a typed 401 ErrorBody")
    check(replayed.parsed.error == "invalid_dpop_proof", "with error=invalid_dpop_proof")
    fresh = client.with_headers({"DPoP": dpop_proof(key, "GET", f"{base}/api/private-scoped", token)})
    scoped = get_private_scoped.sync_detailed(client=fresh)
    check(scoped.status_code == 200, "GET /api/private-scoped with a new proof: 200")


def check_dpop_nonce(base: str) -> None:
    """With server nonces required: the first proof is refused with use_dpop_nonce and a nonce, the
    retry with it succeeds, and every answer carries the nonce to use next."""
    key = ECKey.generate_key("P-256")
    token_url = f"{base}/dev/token"
    minted = httpx.post(token_url, data={"scope": "read:messages"}, headers={"DPoP": dpop_proof(key, "POST", token_url)})
    token = minted.json()["access_token"]
    url = f"{base}/api/private"
    client = AuthenticatedClient(base_url=base, token=token, prefix="DPoP", headers={"DPoP": dpop_proof(key, "GET", url, token)})
    first = get_private.sync_detailed(client=client)
    check(first.status_code == 401 and isinstance(first.parsed, ErrorBody), "nonces required, none sent: a typed 401 ErrorBody")
    check(first.parsed.error == "use_dpop_nonce", "with error=use_dpop_nonce")
    nonce = first.headers.get("dpop-nonce")
    check(nonce is not None, "and the nonce in DPoP-Nonce")
    retry = client.with_headers({"DPoP": dpop_proof(key, "GET", url, token, nonce)})
    granted = get_private.sync_detailed(client=retry)
    check(granted.status_code == 200 and isinstance(granted.parsed, AccessGranted), "the retry with the nonce: a typed AccessGranted")
    check(granted.headers.get("dpop-nonce") is not None, "the answer carries the nonce to use next")


def main() -> None:
    base, token, unscoped, nonce_base = sys.argv[1:5]
    anonymous = Client(base_url=base)

    public = get_public.sync_detailed(client=anonymous)
    check(public.status_code == 200 and isinstance(public.parsed, Message), "GET /api/public is a typed Message")
    check(public.parsed.message == "Hello, World!", "it says Hello, World!")

    stranger = get_greeting.sync_detailed(client=anonymous)
    check(stranger.status_code == 200 and stranger.parsed.message == "Hello, stranger", "GET /api/greeting: a stranger")
    named = get_greeting.sync_detailed(client=AuthenticatedClient(base_url=base, token=token))
    check(named.status_code == 200 and named.parsed.message == "Hello, dev-user", "with a token: by name")
    bad = get_greeting.sync_detailed(client=AuthenticatedClient(base_url=base, token="not-a-jwt"))
    check(bad.status_code == 401 and bad.parsed.error == "invalid_token", "with a bad token: a typed 401, never a stranger")

    refused = get_private.sync_detailed(client=anonymous)
    check(refused.status_code == 401 and isinstance(refused.parsed, ErrorBody), "no token: a typed 401 ErrorBody")
    check(refused.parsed.error == "unauthorized", "with error=unauthorized")

    granted = get_private.sync_detailed(client=AuthenticatedClient(base_url=base, token=token))
    check(granted.status_code == 200 and isinstance(granted.parsed, AccessGranted), "a token: a typed AccessGranted")
    check(granted.parsed.data.sub == "dev-user" and "read:messages" in granted.parsed.data.permissions, "with the claims")

    denied = get_private_scoped.sync_detailed(client=AuthenticatedClient(base_url=base, token=unscoped))
    check(denied.status_code == 403 and isinstance(denied.parsed, ErrorBody), "no read:messages: a typed 403 ErrorBody")
    check(denied.parsed.error == "insufficient_scope", "with error=insufficient_scope")

    check_dpop(base)
    check_dpop_nonce(nonce_base)


if __name__ == "__main__":
    main()
