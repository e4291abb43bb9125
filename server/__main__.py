"""Run the server: `python -m server --help` lists the settings."""

import sys

from server.cli import main

sys.exit(main())
