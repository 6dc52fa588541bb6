from __future__ import annotations

from fastapi import APIRouter

from trade_analysis import __version__
from trade_analysis.api.schemas import Ping
from trade_analysis.domain import utcnow

router = APIRouter(tags=["health"])


@router.get("/ping", response_model=Ping, summary="Liveness check (no key needed)")
def ping() -> Ping:
    return Ping(version=__version__, ts=utcnow())
