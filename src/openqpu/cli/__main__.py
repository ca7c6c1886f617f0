"""``python -m openqpu.cli``."""

import sys

from openqpu.cli import main

sys.exit(main())
