"""The Matrix side: aiguilleurs receive offers, answer them and talk with the
tiers-lieux through the bot. `client` translates sync responses into plain
events, `sender` delivers outbox rows, `desk` decides nothing itself (that is
`dialogs.assignment.desk`) but loads, applies and records, `service` runs it all."""
