"""Demo material: real windows that look like broker charts, for tests and demos."""
