"""The IAM Identity Center (SSO) portal's GetRoleCredentials, as it answers a token it does not
know: `GET /federation/credentials` with `x-amz-sso_bearer_token` is refused with 401
UnauthorizedException ("the request is not authorized ... due to an invalid access token",
AWS SSO Portal API reference). The emulator has no Identity Center and no sessions, so every
token is one the portal does not know: the answer AWS gives a token that has expired or was
revoked by `aws sso logout`. moto has no portal API; without this the SDK read moto's HTML
page as credentials.
"""

from __future__ import annotations

import json

PATH = "/federation/credentials"


def match(method: str, path: str) -> bool:
    return method == "GET" and path == PATH


def refuse() -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"message": "Session token not found or invalid"}).encode()
    return 401, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "UnauthorizedException")], body
