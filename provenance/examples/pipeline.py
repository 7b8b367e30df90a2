"""The publishers' own pipeline, synthetic and deterministic: market data → token ratings → a
diversified index, each record citing the records it was computed from.

- prices and volumes per token per day, and on-chain metrics (active addresses, transfer
  volume) — the source datasets;
- daily ratings per token: a short-term trader grade and a long-term investor grade (0–100) from
  momentum, volatility, volume and on-chain activity; each rating cites the price records of its
  window and the day's on-chain record;
- a weekly index: the top N tokens by investor grade, inverse-volatility weights with a cap per
  sector, rebalanced weekly; each weight cites the rating it used.

Pure: the rows carry their refs in ``_derived_from``; ``scripts/demo_pipeline.py`` uploads them.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

SECTORS = {
    "L1": ["BTC", "ETH", "SOL", "ADA", "AVAX", "DOT", "NEAR", "ATOM", "ALGO", "APT", "SUI", "TON"],
    "L2": ["ARB", "OP", "MATIC", "IMX", "STRK", "MNT", "METIS", "ZK"],
    "DeFi": ["UNI", "AAVE", "MKR", "CRV", "LDO", "COMP", "SNX", "SUSHI", "DYDX", "PENDLE"],
    "Oracles": ["LINK", "PYTH", "BAND", "API3", "TRB", "UMA"],
    "Infra": ["FIL", "AR", "GRT", "RNDR", "HNT", "THETA", "STX", "INJ", "KAS", "TIA", "SEI", "RUNE"],
}
PRICES, ONCHAIN, RATINGS, INDEX = "tm/prices/daily", "tm/onchain/daily", "tm/ratings/daily", "tm/index/weekly"
WINDOW = 7  # days of prices a rating reads
TOP_N = 10
SECTOR_CAP = 0.35


@dataclass(frozen=True)
class Datasets:
    prices: list[dict[str, Any]]
    onchain: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    index: list[dict[str, Any]]


def tokens() -> list[tuple[str, str]]:
    return [(t, sector) for sector, names in SECTORS.items() for t in names]


def days(start: date, count: int) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(count)]


def market(seed: int, start: date, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Geometric random walks per token (prices, volumes) and on-chain activity."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible from the seed
    prices, onchain = [], []
    for token, _ in tokens():
        price = 10 ** rng.uniform(-1, 4.5)
        drift, vol = rng.uniform(-0.004, 0.006), rng.uniform(0.02, 0.08)
        addresses = rng.randint(5_000, 900_000)
        for day in days(start, count):
            price *= math.exp(rng.gauss(drift, vol))
            volume = price * rng.uniform(2e4, 5e6)
            addresses = max(100, int(addresses * math.exp(rng.gauss(0.001, 0.05))))
            prices.append(
                {"symbol": token, "date": day, "close": round(price, 6), "volume_usd": round(volume, 2)}
            )
            onchain.append(
                {
                    "symbol": token,
                    "date": day,
                    "active_addresses": addresses,
                    "transfer_usd": round(volume * rng.uniform(0.2, 3), 2),
                }
            )
    return prices, onchain


def _ref(dataset: str, version: int, key: list[Any]) -> dict[str, Any]:
    return {"dataset": dataset, "version": version, "key": key}


def ratings(
    prices: list[dict[str, Any]], onchain: list[dict[str, Any]], versions: dict[str, int]
) -> list[dict[str, Any]]:
    """A trader and an investor grade per token and day, once a full window of prices exists."""
    by_token: dict[str, list[dict[str, Any]]] = {}
    for p in prices:
        by_token.setdefault(p["symbol"], []).append(p)
    chain = {(o["symbol"], o["date"]): o for o in onchain}
    out = []
    for token, sector in tokens():
        series = by_token[token]
        for i in range(WINDOW, len(series)):
            window = series[i - WINDOW : i + 1]
            day = window[-1]["date"]
            closes = [p["close"] for p in window]
            returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
            momentum = math.log(closes[-1] / closes[0])
            volatility = math.sqrt(sum(r * r for r in returns) / len(returns))
            activity = chain[(token, day)]
            liquidity = math.log10(max(1.0, sum(p["volume_usd"] for p in window) / len(window)))
            trader = _grade(50 + 400 * momentum - 300 * volatility + 2 * (liquidity - 6))
            investor = _grade(
                40 + 8 * math.log10(activity["active_addresses"]) - 250 * volatility + 60 * momentum
            )
            out.append(
                {
                    "symbol": token,
                    "date": day,
                    "sector": sector,
                    "trader_grade": trader,
                    "investor_grade": investor,
                    "volatility": round(volatility, 6),
                    "_derived_from": [
                        _ref(PRICES, versions[PRICES], [p["symbol"], p["date"]]) for p in window
                    ]
                    + [_ref(ONCHAIN, versions[ONCHAIN], [token, day])],
                }
            )
    return out


def _grade(x: float) -> float:
    return round(min(100.0, max(0.0, x)), 2)


def index(rated: list[dict[str, Any]], version: int) -> list[dict[str, Any]]:
    """Weekly rebalance: top N by investor grade, inverse-volatility weights, sector caps."""
    by_day: dict[str, list[dict[str, Any]]] = {}
    for r in rated:
        by_day.setdefault(r["date"], []).append(r)
    out = []
    for day in sorted(by_day)[::7]:
        chosen = sorted(by_day[day], key=lambda r: (-r["investor_grade"], r["symbol"]))[:TOP_N]
        for r, w in zip(chosen, _capped_weights(chosen), strict=True):
            out.append(
                {
                    "rebalance": day,
                    "symbol": r["symbol"],
                    "sector": r["sector"],
                    "weight": round(w, 6),
                    "_derived_from": [_ref(RATINGS, version, [r["symbol"], day])],
                }
            )
    return out


def _capped_weights(chosen: list[dict[str, Any]]) -> list[float]:
    raw = [1 / max(r["volatility"], 1e-6) for r in chosen]
    weights = [x / sum(raw) for x in raw]
    for _ in range(10):  # move the excess of capped sectors to the others, pro rata
        sectors: dict[str, float] = {}
        for r, w in zip(chosen, weights, strict=True):
            sectors[r["sector"]] = sectors.get(r["sector"], 0.0) + w
        over = {s for s, total in sectors.items() if total > SECTOR_CAP + 1e-9}
        if not over or len(over) == len(sectors):
            break
        scale = {s: SECTOR_CAP / sectors[s] for s in over}
        capped = [w * scale.get(r["sector"], 1.0) for r, w in zip(chosen, weights, strict=True)]
        free = sum(w for r, w in zip(chosen, capped, strict=True) if r["sector"] not in over)
        excess = 1 - sum(capped)
        weights = [
            w if r["sector"] in over else w + excess * w / free for r, w in zip(chosen, capped, strict=True)
        ]
    return weights
