"""Dependencies: the services, and the API key check every protected router carries."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trade_analysis.api.credentials import credential_valid, key_matches
from trade_analysis.services import Services

_bearer = HTTPBearer(auto_error=False, description="BACKEND_API_KEY as a Bearer token")


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the
# thread pool, and a hop there costs more than the key check it would run.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def check_key(services: Services, given: str | None, *, token_allowed: bool = False) -> None:
    """The key (any of BACKEND_API_KEYS); where a URL carries it, a signed token too."""
    if not given:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <BACKEND_API_KEY>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys = services.settings.valid_keys
    valid = (
        credential_valid(keys, given, time.time()) if token_allowed else key_matches(keys, given)
    )
    if not valid:
        detail = "wrong API key or expired token" if token_allowed else "wrong API key"
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail)


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None and request.headers.get("authorization"):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "malformed Authorization header: expected 'Bearer <BACKEND_API_KEY>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    check_key(await get_services(request), credentials.credentials if credentials else None)


async def require_api_key_or_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None, Query(description="a token from POST /api/v1/ws-token, for <img> tags")
    ] = None,
) -> None:
    """For what a browser loads by URL, where no header can be set."""
    if credentials is None and token is not None:
        check_key(await get_services(request), token, token_allowed=True)
        return
    await require_api_key(request, credentials)
