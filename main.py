"""The seed's entry points: `python main.py [serve options]` and `uvicorn main:app`."""

import sys

from trade_analysis.app import create_app
from trade_analysis.cli import main

app = create_app()

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])
