"""One exit-code rule for every entry point (``supervision ...`` and each ``python -m ...``).

* ``0`` (:data:`DONE`): the work was done.
* ``2`` (:data:`REFUSED`): the user's input was refused: a bad option, setting, file, table or
  model declaration; the message names what is at fault and nothing was half-written.
* ``1`` (:data:`FAILED`): an internal failure: the input was accepted but the work broke.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

DONE = 0
FAILED = 1
REFUSED = 2


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run an entry point's ``main`` under the rule above and return its exit code.

    Logging is configured first (``console.logs``). What the entry point did not catch is
    mapped here: a bad setting or option is the user's input (2, one ``error:`` line); anything
    else is an internal failure (1, logged at ERROR with its traceback, which is for the
    maintainer: the input was accepted).
    """
    # deferred: settings loads pydantic, and `supervision --help` imports this module
    from console import logs
    from settings import SettingsError

    try:
        logs.configure()
        return int(main(argv) or DONE)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return REFUSED
    except SystemExit as exc:  # argparse: 0 after --help, 2 for a bad option
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or DONE)
        print(f"error: {exc.code}", file=sys.stderr)
        return REFUSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return FAILED
    except Exception as exc:  # noqa: BLE001 - the one place every other failure ends
        logging.getLogger("supervision").error(
            "internal failure: %s: %s", type(exc).__name__, exc, exc_info=True
        )
        return FAILED
