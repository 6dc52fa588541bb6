"""One module per feature; each declares its router's tags."""
