"""Upload a chart screenshot to a running trade-analysis service and print the answer.

    .venv/bin/python examples/upload.py docs/samples/aapl-rising.png --title "AAPL 189.23"

The service reads the ticker and price from the title and the trend from the
image, stores the observation and paper-trades it. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen


def multipart(fields: dict[str, str], image: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{image.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + image.read_bytes()
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("image", type=Path, help="a PNG, JPEG or WebP screenshot of a chart")
    parser.add_argument("--title", required=True, help="the window title: ticker and price")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the service runs")
    parser.add_argument("--bot", default="examples", help="whose position it is")
    arguments = parser.parse_args()
    if not arguments.url.startswith(("http://", "https://")):
        parser.error("--url must be an http:// or https:// address")
    key = os.environ.get("BACKEND_API_KEY", "devkey")
    body, content_type = multipart({"name": arguments.title, "bot": arguments.bot}, arguments.image)
    request = Request(  # noqa: S310 - the scheme is checked above
        f"{arguments.url}/api/v1/ingest",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )
    try:
        with urlopen(request, timeout=30) as answer:  # noqa: S310 - checked above
            print(json.dumps(json.load(answer), indent=2))
    except HTTPError as error:
        print(f"{error.code}: {error.read().decode()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
