"""Write demo agency exports for the social_insurance model, the way offices receive them.

``python examples/social_insurance/make_exports.py [FOLDER] [--employers 400] [--seed 7]``

A stand-in for the real files an office gets from its agencies (which nobody can publish):
``企业登记.xlsx`` (registry, Excel), ``社保缴费.csv`` and ``个税申报.csv`` (GB18030, Chinese
headers, codes spelt the agencies' ways) and ``核查记录.csv`` (past verifications, biased
toward what a crude rule flagged). About 15% of employers under-declare: they insure 40-75% of
the people they pay, or declare a 50-80% contribution base. Truth is written apart
(``truth.csv``) for evaluation only.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pool.keys import USCC_ALPHABET, uscc_check_char
from pool.spec import DISTRICTS

MONTHS = 18
START = date(2024, 1, 1)


def credit_code(rng: np.random.Generator) -> str:
    body = "91110" + "".join(rng.choice(list(USCC_ALPHABET), 12))
    return body + uscc_check_char(body)


def spelt(code: str, rng: np.random.Generator) -> str:
    """How an agency clerk typed it: mostly clean, sometimes lower-case or spaced."""
    draw = rng.random()
    if draw < 0.08:
        return code.lower()
    if draw < 0.14:
        return f"{code[:6]} {code[6:]}"
    return code


def month(i: int) -> date:
    return date(START.year + (START.month - 1 + i) // 12, (START.month - 1 + i) % 12 + 1, 1)


def exports(n: int = 400, seed: int = 7) -> dict[str, pd.DataFrame]:
    """The four exports and the truth, as frames with the agencies' headers."""
    rng = np.random.default_rng(seed)
    codes = sorted({credit_code(rng) for _ in range(n)})
    fraud = rng.random(len(codes)) < 0.15
    staff = rng.integers(5, 200, len(codes))
    wage = rng.uniform(6000, 18000, len(codes))
    districts = rng.choice(DISTRICTS, len(codes))
    registry = pd.DataFrame(
        {
            "统一社会信用代码": codes,
            "企业名称": [f"北京某某{i:04d}科技有限公司" for i in range(len(codes))],
            "所属区": districts,
            "成立日期": [
                date(2010 + int(y), int(m), 1)
                for y, m in zip(
                    rng.integers(0, 13, len(codes)), rng.integers(1, 13, len(codes)), strict=True
                )
            ],
        }
    )
    insured_share = np.where(
        fraud, rng.uniform(0.4, 0.75, len(codes)), rng.uniform(0.93, 1.0, len(codes))
    )
    base_share = np.where(
        fraud & (rng.random(len(codes)) < 0.6),
        rng.uniform(0.5, 0.8, len(codes)),
        rng.uniform(0.9, 1.0, len(codes)),
    )
    contrib, wages = [], []
    for i, code in enumerate(codes):
        for m in range(MONTHS):
            people = max(1, int(staff[i] * rng.uniform(0.95, 1.05)))
            total = people * wage[i] * rng.uniform(0.97, 1.03)
            wages.append(
                {
                    "扣缴单位信用代码": spelt(code, rng),
                    "所属月份": month(m).strftime("%Y-%m-%d"),
                    "申报人数": people,
                    "工资总额(元)": f"{total:,.2f}",
                }
            )
            if rng.random() < (0.1 if fraud[i] else 0.01):
                continue  # a month not contributed at all
            insured = int(round(people * insured_share[i]))
            contrib.append(
                {
                    "单位信用代码": spelt(code, rng),
                    "缴费月份": month(m).strftime("%Y/%m/%d"),
                    "参保人数": insured,
                    "缴费基数合计(元)": round(total * insured_share[i] * base_share[i], 2),
                }
            )
    # past leads: a crude rule (insured below 70%) plus a few tip-offs, verified weeks later
    flagged = np.flatnonzero(
        (insured_share < 0.7) & (rng.random(len(codes)) < 0.7) | (rng.random(len(codes)) < 0.06)
    )
    history = []
    for j, i in enumerate(flagged):
        day = month(int(rng.integers(3, MONTHS - 1)))
        verified = pd.Timestamp(day) + pd.Timedelta(days=int(rng.integers(20, 90)))
        if verified.date() > month(MONTHS - 1):
            continue
        case = fraud[i] and rng.random() < 0.9
        history.append(
            {
                "线索编号": f"H{j:04d}",
                "信用代码": codes[i],
                "所属区": districts[i],
                "规则": "insured_below_70pct" if insured_share[i] < 0.7 else "tip_off",
                "发现日期": day.isoformat(),
                "核查日期": verified.date().isoformat(),
                "结果": "case_filed" if case else "no_case",
                "追缴金额(元)": round(float(wage[i] * staff[i] * 0.3), 2) if case else 0.0,
            }
        )
    truth = pd.DataFrame({"entity_id": codes, "district": districts, "is_fraud": fraud})
    return {
        "企业登记.xlsx": registry,
        "社保缴费.csv": pd.DataFrame(contrib),
        "个税申报.csv": pd.DataFrame(wages),
        "核查记录.csv": pd.DataFrame(history),
        "truth.csv": truth,
    }


def write(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        if name.endswith(".xlsx"):
            frame.to_excel(folder / name, index=False, sheet_name="登记信息")
        elif name == "truth.csv":
            frame.to_csv(folder / name, index=False)
        else:
            frame.to_csv(folder / name, index=False, encoding="gb18030")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(Path(__file__).parent))
    parser.add_argument("--employers", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write(Path(args.folder), exports(args.employers, args.seed))
    print(f"wrote the demo exports into {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
