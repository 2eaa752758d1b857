"""``python -m leads``: see :mod:`leads.cli`."""

import sys

from console import exits

from .cli import main

sys.exit(exits.run(main))
