#!/usr/bin/env python3
"""Entry point: who of the household is home, sent to Graphite. See README.md."""

import sys

from presence.cli import main

if __name__ == "__main__":
    sys.exit(main())
