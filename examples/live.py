"""Print what the live stream of a running trade-analysis service sends, one line per event.

    .venv/bin/python examples/live.py --count 5

Each message is `{"type": ..., "data": ...}` (docs/websocket.md lists them);
this prints the type and a short view of the data. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from websockets.sync.client import connect


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000", help="where the service runs")
    parser.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    arguments = parser.parse_args()
    key = os.environ.get("BACKEND_API_KEY", "devkey")
    headers = {"Authorization": f"Bearer {key}"}
    received = 0
    with connect(f"{arguments.url}/api/v1/ws", additional_headers=headers) as socket:
        try:
            for text in socket:
                event = json.loads(text)
                print(event["type"], json.dumps(event["data"])[:160], flush=True)
                received += 1
                if received == arguments.count:
                    break
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
