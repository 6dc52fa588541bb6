"""The keys the original backend's clients read, from ORIGINAL.md's wire contract."""

# `get_status()` of the original's capture worker: every key, idle or running.
STATUS_KEYS = {
    "is_running",
    "target_window",
    "interval",
    "total_captures",
    "successful_captures",
    "failed_captures",
    "runtime_seconds",
    "output_folder",
    "keep_last_n",
    "last_result",
    "bring_to_foreground",
}
LAST_RESULT_KEYS = {"timestamp", "image_path", "name", "ticker", "price", "price_value", "trend"}
RECORD_KEYS = {
    "id",
    "ts",
    "image_path",
    "name",
    "ticker",
    "price",
    "trend",
    "buy_price",
    "sell_price",
    "buy_time",
    "sell_time",
    "meta",
}
TRADE_KEYS = {"ticker", "direction", "price", "profit", "win_reason", "ts"}
TICKER_KEYS = {
    "position",
    "entry_price",
    "first_cycle_done",
    "last_direction",
    "last_trade",
    "total_pnl",
    "wins",
    "losses",
    "win_rate",
    "trade_history",
}
