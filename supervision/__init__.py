"""The ``supervision`` command-line tool: the top layer, delegating to each package's entry
point (see :mod:`supervision.cli`)."""
