"""Per-entity features from data collision, declared once, run on DuckDB or Spark.

Entry points: ``features.build.build_features`` (Python API for training),
``python -m features.build`` (CLI), ``python -m features.docs`` (feature documentation),
``features.registry`` (scenario declarations, including models written outside the package)
and ``features.reasons`` (a lead's plain-language reasons). Importing this package does nothing.
"""
