"""Coordination handlers, one module per domain; importing this package
registers them all (bot/admin/registry.py)."""

from bot.admin.handlers import cases as cases
from bot.admin.handlers import catalog as catalog
from bot.admin.handlers import help as help
from bot.admin.handlers import inscription as inscription
from bot.admin.handlers import interventions as interventions
from bot.admin.handlers import people as people
from bot.admin.handlers import reports as reports
