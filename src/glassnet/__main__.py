"""``python -m glassnet``: the same command line as the ``glassnet`` script."""

import sys

from .cli import main

sys.exit(main())
