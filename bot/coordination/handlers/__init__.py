"""Coordination handlers, one module per domain; importing this package
registers them all (bot/coordination/registry.py)."""

from bot.coordination.handlers import cases as cases
from bot.coordination.handlers import catalog as catalog
from bot.coordination.handlers import help as help
from bot.coordination.handlers import inscription as inscription
from bot.coordination.handlers import interventions as interventions
from bot.coordination.handlers import people as people
from bot.coordination.handlers import reports as reports
