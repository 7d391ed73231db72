"""Run the ``lastseen`` command as ``python -m lastseen``."""

import sys

from lastseen.cli import main

sys.exit(main())
