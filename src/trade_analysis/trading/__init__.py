"""Paper trading: a pure simulator and signal gate, and the ledger that records them."""
