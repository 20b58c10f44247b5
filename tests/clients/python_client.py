"""Calls the running service through the Python client that openapi-python-client generated from
openapi/openapi.json: typed answers for 200, typed ErrorBody for 401 and 403, and the optional
token of GET /api/greeting.

usage: python3 python_client.py <base URL> <token with read:messages> <token without it>
(the generated package `protected_api_client` must be importable)
"""

import sys

from protected_api_client import AuthenticatedClient, Client
from protected_api_client.api.messages import get_greeting, get_private, get_private_scoped, get_public
from protected_api_client.models import AccessGranted, ErrorBody, Message


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"not ok - {message}")
    print(f"ok - {message}")


def main() -> None:
    base, token, unscoped = sys.argv[1:4]
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


if __name__ == "__main__":
    main()
