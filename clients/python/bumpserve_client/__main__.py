"""python3 -m bumpserve_client: see cli.py."""

import sys

from .cli import main

sys.exit(main())
