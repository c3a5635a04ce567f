"""`python -m qa`: the command line (qa/operations/cli.py)."""

import sys

from qa.operations.cli import main

if __name__ == "__main__":
    sys.exit(main())
