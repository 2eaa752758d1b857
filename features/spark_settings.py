"""Where the Spark engine runs and how: read from the environment when a session starts.

| variable | default | meaning |
| --- | --- | --- |
| ``SUPERVISION_SPARK_MASTER`` | ``local[2]`` | Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``, ``k8s://...``) |
| ``SUPERVISION_SPARK_CONF`` | empty | extra Spark settings, ``key=value`` pairs separated by ``;`` (they override the defaults below) |

The defaults suit a small local session (2 shuffle partitions, no UI, no adaptive planning or
whole-stage code generation, see ``features.engines``); on a cluster set
``spark.sql.shuffle.partitions`` and friends back through ``SUPERVISION_SPARK_CONF``. A value
that is not ``key=value``, or a key that is not a Spark setting (``spark.*``), stops the session
naming the variable and the item.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_MASTER = "SUPERVISION_SPARK_MASTER"
ENV_CONF = "SUPERVISION_SPARK_CONF"
DEFAULT_MASTER = "local[2]"


@dataclass(frozen=True)
class SparkSettings:
    """The master URL and the settings added to (or overriding) the engine's defaults."""

    master: str = DEFAULT_MASTER
    conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SparkSettings:
        """Settings from the environment (``os.environ`` unless given)."""
        env = os.environ if environ is None else environ
        master = env.get(ENV_MASTER, "").strip() or DEFAULT_MASTER
        return cls(master=master, conf=parse_conf(env.get(ENV_CONF, "")))


def parse_conf(raw: str) -> dict[str, str]:
    """``"spark.a=1; spark.b=x"`` -> ``{"spark.a": "1", "spark.b": "x"}``."""
    conf: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(";")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"{ENV_CONF}: {item!r} is not key=value")
        if not key.startswith("spark."):
            raise ValueError(f"{ENV_CONF}: {key!r} is not a Spark setting (spark.*)")
        conf[key] = value
    return conf
