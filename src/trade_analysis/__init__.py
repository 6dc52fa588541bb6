"""trade-analysis: chart windows in, signals, paper trades and a live ledger out."""

__version__ = "0.1.0"
