"""The seed's entry points: `python main.py` and `uvicorn main:app`."""

from trade_analysis.cli import main

from trade_analysis.app import create_app

app = create_app()

if __name__ == "__main__":
    main(["serve"])
