"""``python -m leads``: see :mod:`leads.cli`."""

import sys

from .cli import main

sys.exit(main())
