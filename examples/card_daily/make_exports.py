"""Write demo exports for the card_daily model: cards, transactions, past verifications.

``python examples/card_daily/make_exports.py [FOLDER] [--cards 300] [--days 45] [--seed 5]``

Cards pay 0-4 times a day; a compromised card has a burst of 3-6 days with more, larger
payments, often at risk-listed merchants. Each day the bank's crude rule flags its top cards by
7-day amount plus a few at random; they are verified 2-10 days later (``verifications.csv``),
so what is known about day T arrives days after T. Truth apart in ``truth.csv``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pool.spec import DISTRICTS

START = date(2025, 3, 1)


def exports(cards: int = 300, days: int = 45, seed: int = 5) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"C{i:05d}" for i in range(cards)]
    district = rng.choice(DISTRICTS, cards)
    compromised = rng.random(cards) < 0.12
    start = rng.integers(5, days - 3, cards)
    length = rng.integers(3, 7, cards)
    tx, bad_days = [], set()
    for i, card in enumerate(ids):
        for d in range(days):
            burst = compromised[i] and start[i] <= d < start[i] + length[i]
            if burst:
                bad_days.add((card, d))
            n = rng.poisson(3.5 if burst else 1.2)
            for _ in range(n):
                amount = rng.lognormal(6.5 if burst else 5.0, 0.6)
                risky = rng.random() < (0.45 if burst else 0.05)
                tx.append(
                    (
                        f"T{len(tx):07d}",
                        card,
                        (START + timedelta(days=d)).isoformat(),
                        round(float(amount), 2),
                        "1" if risky else "0",
                    )
                )
    transactions = pd.DataFrame(
        tx, columns=["tx_id", "card_id", "tx_date", "amount", "risky_merchant"]
    )
    daily = transactions.assign(day=pd.to_datetime(transactions["tx_date"]))
    history = []
    for d in range(7, days):
        today = START + timedelta(days=d)
        window = daily[
            (daily["day"] > pd.Timestamp(today - timedelta(days=7)))
            & (daily["day"] <= pd.Timestamp(today))
        ]
        ranked = window.groupby("card_id")["amount"].sum().sort_values(ascending=False)
        flagged = list(ranked.index[:6]) + list(rng.choice(ids, 3, replace=False))
        for card in dict.fromkeys(flagged):
            i = ids.index(card)
            verified = today + timedelta(days=int(rng.integers(2, 11)))
            was_bad = any((card, d - back) in bad_days for back in range(7))
            history.append(
                {
                    "lead_id": f"V{len(history):05d}",
                    "entity_id": card,
                    "district": district[i],
                    "rule": "amount_7d_top",
                    "flagged_on": today.isoformat(),
                    "verified_on": verified.isoformat(),
                    "outcome": "case_filed" if was_bad else "no_case",
                    "amount_recovered": 0.0,
                }
            )
    cards_frame = pd.DataFrame(
        {
            "card_id": ids,
            "district": district,
            "issued_on": [(START - timedelta(days=400)).isoformat()] * cards,
        }
    )
    truth = pd.DataFrame({"entity_id": ids, "district": district, "is_fraud": compromised})
    return {
        "cards.csv": cards_frame,
        "transactions.csv": transactions,
        "verifications.csv": pd.DataFrame(history),
        "truth.csv": truth,
    }


def write(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / name, index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(Path(__file__).parent))
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    write(Path(args.folder), exports(args.cards, args.days, args.seed))
    print(f"wrote the demo exports into {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
