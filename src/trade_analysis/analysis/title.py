"""Read name, ticker and price from a window title such as `TSLA $250.12 | Robinhood`.

Titles have no fixed format, so this is a heuristic (a user pattern can
override any part of it):
- price: the first number standing alone, with an optional `$`, thousands
  commas and decimals; numbers glued to letters (`1D`), percentages, times
  and zero are skipped;
- ticker: a whole word of 2-5 capitals (optionally `.B`), preferring one
  written as `$TSLA` or `(AMZN)`; common capitalised non-tickers (`YTD`,
  `USD`, `NEW`, ...) are skipped, and mixed case (`New Tab`) never counts;
- name: what is left once the browser and app suffixes (` - Google Chrome`,
  ` | Robinhood`), the ticker, the price and punctuation are removed.

`title_stem` is what stays of a title while its numbers move: a bot recognises
its window by it (with the process name), across restarts and new window ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from trade_analysis.domain import InvalidPrice, parse_price


class InvalidTitlePattern(ValueError):
    """A user title pattern that is not a usable regular expression."""


@dataclass(frozen=True)
class TitleReading:
    name: str
    ticker: str | None
    price: Decimal | None


_PRICE = re.compile(
    r"(?<![\w.,:])(?P<dollar>\$\s?)?(?P<amount>\d{1,3}(?:,\d{3})+|\d+)(?P<fraction>\.\d+)?"
    r"(?![\w%:]|[.,]\d)"
)
_TICKER = re.compile(r"(?<![\w$.])(?P<mark>\$|\()?(?P<symbol>[A-Z]{2,5}(?:\.[A-Z])?)(?!\w|\.\w)")
# Capitalised words that are currencies, timeframes, sessions, exchanges or apps.
NOT_TICKERS = frozenset(
    {
        "YTD", "MAX", "ALL", "LIVE", "NEW", "TAB", "USD", "EUR", "GBP", "JPY", "CAD",
        "AUD", "CHF", "CNY", "HKD", "US", "USA", "UK", "EU", "AM", "PM", "ET", "EST",
        "EDT", "PST", "PDT", "UTC", "GMT", "NYSE", "AMEX", "OTC", "ETF", "IPO", "CEO",
        "API", "APP", "WEB", "PDF", "HTML", "HTTP", "WWW", "COM", "PRE", "POST", "AH",
        "BUY", "SELL", "HOLD", "LONG", "SHORT", "OPEN", "HIGH", "LOW", "VOL", "AVG",
        "EPS", "PE", "MKT", "CAP", "DAY", "WEEK", "HD", "TV", "CNBC", "CNN", "BBC",
        "WSJ", "MSN", "NEWS", "INC", "LTD", "LLC", "CORP",
    }
)  # fmt: skip
_SEPARATOR = re.compile(r"\s+[-|\u2013\u2014\u00b7]\s+")
_BROWSERS = re.compile(
    r"^(google chrome|chromium|mozilla firefox|firefox|microsoft\u200b? edge|edge|safari|"
    r"brave|opera|vivaldi|arc)$",
    re.IGNORECASE,
)
_PUNCTUATION = re.compile(r"[^\w\s&'.]+")
_KNOWN_GROUPS = ("ticker", "price", "name")


# What moves in a title while the chart ticks: times (`09:30:05 PM`), then amounts with
# their signs, currency and percent or magnitude (`-$1,234.56`, `+0.5%`, `1.2M`), and the
# arrows some sites put before a change. A number glued to a letter (`1D`, `H4`, `3M`) is
# part of a name or a timeframe and stays.
_MOVING = re.compile(
    r"(?<![\w.])\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?(?!\w))?"
    r"|(?<![\w.])[+\-\u2212\u00b1]?(?:[$\u20ac\u00a3\u00a5]\s?)?[+\-\u2212]?"
    r"(?P<amount>\.?\d(?:[\d,.]*\d)?)(?:\s?%|(?P<magnitude>[KMBT])?(?!\w))"
    r"|[\u25b2\u25bc\u25b4\u25be\u2191\u2193\u2b06\u2b07\U0001f53a\U0001f53b]"
)
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}")
_SEPARATOR_TOKEN = re.compile(r"^[-|/,:;+\u2013\u2014\u00b7\u2022]+$")


def title_stem(title: str) -> str:
    """The title without prices, percentages, signed numbers, times and other numbers,
    with empty brackets and doubled separators dropped and whitespace collapsed.

    `TSLA $250.12 +1.30 (+0.52%) | Robinhood` and `TSLA $251.02 -0.10 (-0.04%) | Robinhood`
    share the stem `TSLA | Robinhood`. Pure and idempotent.
    """
    text = _MOVING.sub(_blank_moving, title)
    previous = None
    while previous != text:  # `(( ))` empties in two passes
        previous, text = text, _EMPTY_BRACKETS.sub(" ", text)
    tokens: list[str] = []
    for token in text.split():
        if _SEPARATOR_TOKEN.match(token) and (not tokens or _SEPARATOR_TOKEN.match(tokens[-1])):
            continue  # a separator with nothing left before it
        tokens.append(token)
    while tokens and _SEPARATOR_TOKEN.match(tokens[-1]):
        tokens.pop()
    return " ".join(tokens)


def _blank_moving(match: re.Match[str]) -> str:
    # `1.2M` is a volume that moves; `3M` is a name.
    if match.group("magnitude") and not set(".,") & set(match.group("amount")):
        return match.group(0)
    return " "


def compile_title_pattern(text: str) -> re.Pattern[str]:
    """Validate a user pattern: a regex with a named group `ticker` and/or `price`."""
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise InvalidTitlePattern(f"title pattern {text!r} is not a valid regex: {exc}") from None
    if not {"ticker", "price"} & set(pattern.groupindex):
        raise InvalidTitlePattern(
            f"title pattern {text!r} needs a named group (?P<ticker>...) or (?P<price>...)"
        )
    return pattern


def read_title(title: str, pattern: str | None = None) -> TitleReading:
    """Name, ticker and price of a window title; never raises for any title text."""
    found = _pattern_groups(title, pattern) if pattern is not None else {}
    heuristic = _read_heuristically(title)
    ticker = _clean_ticker(found.get("ticker")) or heuristic.ticker
    price = _to_price(found.get("price")) or heuristic.price
    name = (found.get("name") or "").strip() or heuristic.name
    return TitleReading(name=name, ticker=ticker, price=price)


def first_price(text: str) -> Decimal | None:
    """The first amount in free text that reads as a price (`$1,234.56 +1.2%` gives 1234.56)."""
    match = _find_price(text)
    return _to_price(match.group(0)) if match else None


def _pattern_groups(title: str, pattern: str) -> dict[str, str]:
    match = compile_title_pattern(pattern).search(title)
    if match is None:
        return {}
    groups = match.groupdict()
    return {key: groups[key] for key in _KNOWN_GROUPS if groups.get(key)}


def _clean_ticker(text: str | None) -> str | None:
    cleaned = (text or "").strip().lstrip("$").strip("()").strip()
    return cleaned.upper() or None


def _to_price(text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        return parse_price(text.strip())
    except InvalidPrice:
        return None


def _find_price(title: str) -> re.Match[str] | None:
    for match in _PRICE.finditer(title):
        if _to_price(match.group(0)) is not None:
            return match
    return None


def _find_ticker(title: str) -> re.Match[str] | None:
    candidates = [
        match for match in _TICKER.finditer(title) if match.group("symbol") not in NOT_TICKERS
    ]
    marked = [match for match in candidates if _is_marked(match, title)]
    if marked:
        return marked[0]
    return candidates[0] if candidates else None


def _is_marked(match: re.Match[str], title: str) -> bool:
    mark = match.group("mark")
    return mark == "$" or (mark == "(" and title[match.end() : match.end() + 1] == ")")


def _read_heuristically(title: str) -> TitleReading:
    price_match = _find_price(title)
    ticker_match = _find_ticker(title)
    ticker = ticker_match.group("symbol") if ticker_match else None
    price = _to_price(price_match.group(0)) if price_match else None
    name = _name(title, [m for m in (price_match, ticker_match) if m is not None])
    return TitleReading(name=name or (ticker or ""), ticker=ticker, price=price)


def _name(title: str, spans: list[re.Match[str]]) -> str:
    """The title without suffix parts, ticker, price and punctuation."""
    blanked = list(title)
    for match in spans:
        blanked[match.start() : match.end()] = " " * (match.end() - match.start())
    text = "".join(blanked)
    # Cut where the original title has separators, so blanking cannot move them.
    cuts = [0, *(edge for sep in _SEPARATOR.finditer(title) for edge in sep.span()), len(title)]
    parts = [
        (title[a:b].strip(), text[a:b].strip()) for a, b in zip(cuts[::2], cuts[1::2], strict=True)
    ]
    if len(parts) > 1 and _BROWSERS.match(parts[-1][0]):
        parts.pop()
    # The last remaining part names the app or site, unless it held what we read.
    if len(parts) > 1 and parts[-1][0] == parts[-1][1]:
        parts.pop()
    words = " ".join(_PUNCTUATION.sub(" ", kept) for _, kept in parts).split()
    return " ".join(words).strip(" .'&")
