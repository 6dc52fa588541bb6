from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trade_analysis.analysis.title import (
    NOT_TICKERS,
    InvalidTitlePattern,
    compile_title_pattern,
    first_price,
    read_title,
    title_stem,
)

CASES = [
    ("AAPL 175.23 - MyApp", "AAPL", "175.23"),
    ("TSLA $250.12 | Robinhood - Google Chrome", "TSLA", "250.12"),
    ("NVDA - $1,234.56 - Mozilla Firefox", "NVDA", "1234.56"),
    ("Amazon (AMZN) $185.07", "AMZN", "185.07"),
    ("Bitcoin $42000 - Feed", None, "42000"),
    ("New Tab - Google Chrome", None, None),
    ("$TSLA 250.12 - Chromium", "TSLA", "250.12"),
    ("182.50 MSFT — Microsoft Edge", "MSFT", "182.50"),
    ("Meta Platforms (META) · $501.20 · Brave", "META", "501.20"),
    ("AMD 1D 5Y 160.01", "AMD", "160.01"),
    ("GOOG YTD +12.5% 171.3 USD", "GOOG", "171.3"),
    ("CNBC - Apple (AAPL) 190.5", "AAPL", "190.5"),
    ("BRK.B $412.10", "BRK.B", "412.10"),
    ("apple stock 175 - safari", None, "175"),
    ("Ünïcödé Ærø 12.5 — 株式 - Firefox", None, "12.5"),
    ("", None, None),
    ("Market open 09:30 - Feed", None, None),
    ("SPY 0.00 then 512.33", "SPY", "512.33"),
]


@pytest.mark.parametrize(("title", "ticker", "price"), CASES)
def test_reads_ticker_and_price(title: str, ticker: str | None, price: str | None) -> None:
    reading = read_title(title)
    assert reading.ticker == ticker
    assert reading.price == (Decimal(price) if price is not None else None)


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Bitcoin $42000 - Feed", "Bitcoin"),
        ("Amazon (AMZN) $185.07", "Amazon"),
        ("New Tab - Google Chrome", "New Tab"),
        ("Apple Inc. - AAPL - $175.23", "Apple Inc"),
        ("TSLA $250.12 | Robinhood - Google Chrome", "TSLA"),  # nothing else: the ticker
        ("", ""),
    ],
)
def test_name(title: str, name: str) -> None:
    assert read_title(title).name == name


def test_pattern_overrides_and_missing_groups_fall_back() -> None:
    reading = read_title("quote: abc @ 12.5 (AMZN)", r"quote: (?P<ticker>\w+) @")
    assert reading.ticker == "ABC"
    assert reading.price == Decimal("12.5")
    named = read_title("X=1.5 Y=MSFT", r"X=(?P<price>[\d.]+) Y=(?P<name>\w+)")
    assert (named.price, named.name) == (Decimal("1.5"), "MSFT")


def test_pattern_that_does_not_match_falls_back_to_heuristics() -> None:
    assert read_title("AAPL 175.23", r"^price (?P<price>\d+)$").price == Decimal("175.23")


@pytest.mark.parametrize("text", ["(?P<ticker>", "[a-", "(?P<price>\\d+"])
def test_invalid_pattern_raises_with_re_message(text: str) -> None:
    with pytest.raises(InvalidTitlePattern, match="not a valid regex"):
        compile_title_pattern(text)
    with pytest.raises(InvalidTitlePattern):
        read_title("AAPL 1", text)


def test_pattern_without_known_group_is_refused() -> None:
    with pytest.raises(InvalidTitlePattern, match="named group"):
        compile_title_pattern(r"(\w+) (\d+)")


tickers = st.from_regex(r"\A[A-Z]{2,5}\Z").filter(lambda t: t not in NOT_TICKERS)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)
PRICE_FORMATS = ["{:f}", "${:f}", "$ {:f}", "{:,f}", "${:,f}"]
TEMPLATES = [
    "{t} {p} - MyApp",
    "{t} {p} | Robinhood - Google Chrome",
    "Some Company ({t}) {p}",
    "${t} {p} - Mozilla Firefox",
    "{p} {t} — Microsoft Edge",
    "{t} - {p} - Chromium",
]


@given(
    ticker=tickers,
    price=prices,
    fmt=st.sampled_from(PRICE_FORMATS),
    template=st.sampled_from(TEMPLATES),
)
def test_any_ticker_and_price_in_a_template(
    ticker: str, price: Decimal, fmt: str, template: str
) -> None:
    reading = read_title(template.format(t=ticker, p=fmt.format(price)))
    assert reading.ticker == ticker
    assert reading.price == price


@given(st.text())
def test_never_raises_on_arbitrary_text(title: str) -> None:
    reading = read_title(title)
    assert reading.price is None or reading.price > 0
    assert reading.ticker is None or reading.ticker.isupper()


@given(st.text(alphabet=st.characters(categories=["Ll", "Zs", "Nd", "Po"])))
def test_lowercase_titles_have_no_ticker(title: str) -> None:
    assert read_title(title).ticker is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1,234.56 +12.30 (1.01%)", Decimal("1234.56")),
        ("AAPL 185.07", Decimal("185.07")),
        ("+1.2% today", None),
        ("9:30 AM", None),
        ("", None),
    ],
)
def test_first_price_in_free_text(text: str, expected: Decimal | None) -> None:
    assert first_price(text) == expected


STEMS = [
    ("TSLA $250.12 +1.30 (+0.52%) | Robinhood", "TSLA | Robinhood"),
    ("AAPL 175.23 - MyApp", "AAPL - MyApp"),
    ("175.23 - AAPL", "AAPL"),
    ("Market open 09:30:05 PM - Feed", "Market open - Feed"),
    ("AMD 1D 5Y 160.01", "AMD 1D 5Y"),
    ("Vol 1.2M 3M \u25b2 12", "Vol 3M"),
    ("S&P 500 4,512.3 \u221212.4 (\u22120.27%)", "S&P"),
    ("BRK.B $1,412.10", "BRK.B"),
    ("(3) NVDA  \u00b7  $1,234.56 \u00b7 Brave", "NVDA \u00b7 Brave"),
    ("", ""),
]


@pytest.mark.parametrize(("title", "stem"), STEMS)
def test_stem_keeps_what_does_not_move(title: str, stem: str) -> None:
    assert title_stem(title) == stem


prices = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False)
changes = st.decimals(min_value=-(10**4), max_value=10**4, places=2, allow_nan=False)


@given(
    ticker=st.from_regex(r"[A-Z]{2,5}", fullmatch=True),
    suffix=st.sampled_from(["Robinhood", "Google Chrome", "MyApp", "Yahoo Finance"]),
    separator=st.sampled_from([" - ", " | ", " \u00b7 ", " \u2014 "]),
    ticks=st.lists(st.tuples(prices, changes, st.times()), min_size=2, max_size=5),
)
def test_a_title_whose_price_moves_keeps_its_stem(
    ticker: str, suffix: str, separator: str, ticks: list[tuple[Decimal, Decimal, object]]
) -> None:
    titles = [
        f"{ticker} ${price:,} {change:+} ({change / 10:+.2f}%) {at}{separator}{suffix}"
        for price, change, at in ticks
    ]
    assert len({title_stem(title) for title in titles}) == 1
    assert title_stem(titles[0]) == f"{ticker}{separator}{suffix}".replace("  ", " ")


@given(st.text())
def test_stem_is_idempotent_and_never_raises(title: str) -> None:
    stem = title_stem(title)
    assert title_stem(stem) == stem
    assert stem == stem.strip() and "  " not in stem
