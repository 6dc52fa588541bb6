"""Where the scale-out tests find PostgreSQL: this machine kind runs it on 127.0.0.1, trust auth."""

from __future__ import annotations

import os

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
