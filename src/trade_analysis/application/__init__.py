"""The application layer: what a user can do, once, whichever door they come in by.

One module per family of use cases (bots, capture, trades, uploads, data), each a
few functions taking `Services` (and `charts.py`, the reading of a chart image, which
needs none). The typed routes, the seed face, the CLI and the
capture agent call these; a route parses its input, makes one call here and shapes
the answer. Nothing here knows HTTP: a missing bot is `UnknownBot`, which the API
maps to 404 like any other domain error.
"""
