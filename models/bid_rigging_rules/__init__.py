"""``bid_rigging_rules``: the published bid-rigging screens as rules (串通投标, 规则).

What a competition authority screens tenders with before any model (Imhof, Huber and others;
the screens are the ``bid_rigging`` features, computed from the raw bids): bids bunched
together (coefficient of variation below 6%, highest bid under 15% above the lowest), a winner
standing apart from the cover bids (relative distance RD above 1) and a flat bid distribution
(negative kurtosis). Each rule counts one; within a country, tenders that trip as many screens
rank by how bunched their bids are (lower CV first). The thresholds are the screens' usual
rule-of-thumb values, not fitted to these files. It reads the ``bid_rigging`` sources and is
judged on the same held-out tenders as the learnt model (``point="bid_rigging"``).
"""

from dataclasses import replace

from features.rules import Rule, RuleSet
from models.bid_rigging import MODEL as POINT

# everything else as the point declares it (sources, no dates, truth, amount at stake)
MODEL = replace(
    POINT,
    name="bid_rigging_rules",
    point=POINT.name,
    title="Collusion in public procurement: the published screens (串通投标, 规则)",
    description="bid-distribution screens (CV, spread, relative distance, kurtosis) as rules",
    rules=RuleSet(
        rules=(
            Rule(
                "bids_bunched_cv",
                "cv",
                "<",
                0.06,
                "bids vary by only {value:.1%} (CV; screen: under {threshold:.0%}); "
                "country median {peer:.1%}",
                reasons={
                    "zh": "报价离散系数仅{value:.1%}（筛查线：低于{threshold:.0%}）；"
                    "本国中位数{peer:.1%}"
                },
            ),
            Rule(
                "narrow_spread",
                "spd",
                "<",
                0.15,
                "highest bid only {value:.1%} above the lowest (screen: under "
                "{threshold:.0%}); country median {peer:.1%}",
                reasons={
                    "zh": "最高报价仅比最低报价高{value:.1%}（筛查线：低于{threshold:.0%}）；"
                    "本国中位数{peer:.1%}"
                },
            ),
            Rule(
                "winner_stands_apart",
                "rd",
                ">",
                1.0,
                "winner {value:.2f} standard deviations below the cover bids (screen: above "
                "{threshold:.0f}); country median {peer:.2f}",
                reasons={
                    "zh": "中标价低于陪标报价{value:.2f}个标准差（筛查线：高于"
                    "{threshold:.0f}）；本国中位数{peer:.2f}"
                },
            ),
            Rule(
                "flat_distribution",
                "kurt",
                "<",
                0.0,
                "bid kurtosis {value:.2f} (screen: below {threshold:.0f}); country median "
                "{peer:.2f}",
                reasons={
                    "zh": "报价峰度{value:.2f}（筛查线：低于{threshold:.0f}）；本国中位数{peer:.2f}"
                },
            ),
        ),
        combine="count",
        tie_break="cv",
    ),
    # Same held-out tenders and metric as the learnt model; floor measured below.
    policy=replace(POINT.policy, floor=0.5),
)
