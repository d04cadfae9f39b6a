"""The `aiguillage` command line (commands.py) and its subcommands."""
