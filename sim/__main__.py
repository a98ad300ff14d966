"""``python -m sim`` is the ``dcsim`` command."""

import sys

from sim.cli import main

sys.exit(main())
