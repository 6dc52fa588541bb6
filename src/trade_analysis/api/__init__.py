"""The HTTP and WebSocket interface: thin routes over the domain and the ledger."""
