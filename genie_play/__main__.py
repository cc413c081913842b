"""`python -m genie_play` is the same as the `genie-play` command."""

import sys

from genie_play.cli import main

sys.exit(main())
