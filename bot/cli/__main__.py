"""The `aiguillage` command line run as a module of this package (see bot/cli/commands.py)."""

import sys

from bot.cli.commands import main

sys.exit(main())
