"""Follow-up: what the bot asks after a request, and what the answers mean."""
