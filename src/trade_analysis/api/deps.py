"""Dependencies: the services, and the API key check every protected router carries."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trade_analysis.api.credentials import TokenScope, credential_valid, key_matches
from trade_analysis.services import Services

bearer = HTTPBearer(auto_error=False, description="BACKEND_API_KEY as a Bearer token")


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the
# thread pool, and a hop there costs more than the key check it would run.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _missing() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing API key: send 'Authorization: Bearer <BACKEND_API_KEY>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def key_problem(keys: Sequence[str], authorization: str | None) -> HTTPException | None:
    """What is wrong with an `Authorization` header for `keys`, or None when it has one.

    Used by the body limit too, which answers from the headers before a body is read.
    """
    if not authorization:
        return _missing()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "malformed Authorization header: expected 'Bearer <BACKEND_API_KEY>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not key_matches(keys, credentials.strip()):
        return HTTPException(status.HTTP_403_FORBIDDEN, "wrong API key")
    return None


def check_key(services: Services, given: str | None) -> None:
    """The key (any of BACKEND_API_KEYS)."""
    problem = key_problem(services.settings.valid_keys, f"Bearer {given}" if given else None)
    if problem is not None:
        raise problem


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    if credentials is None and request.headers.get("authorization"):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "malformed Authorization header: expected 'Bearer <BACKEND_API_KEY>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    check_key(await get_services(request), credentials.credentials if credentials else None)


_URL_CREDENTIAL_HELP = "the key, or a token from POST /api/v1/ws-token scoped for this URL"


def key_or_token(scope: TokenScope) -> Callable[..., Awaitable[None]]:
    """A dependency for what a browser loads by URL, where no header can be set: the key,
    or in `?token=` the key or a token for `scope`."""

    async def require_key_or_token(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        token: Annotated[str | None, Query(description=_URL_CREDENTIAL_HELP)] = None,
    ) -> None:
        if credentials is None and token is not None:
            keys = (await get_services(request)).settings.valid_keys
            if not credential_valid(keys, token, time.time(), scope):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"wrong API key, or a token expired or not for {scope.value}",
                )
            return
        await require_api_key(request, credentials)

    return require_key_or_token


require_key_or_image_token = key_or_token(TokenScope.IMAGES)
require_key_or_docs_token = key_or_token(TokenScope.DOCS)
