"""Delivery: the outbox dispatcher, its pacing, the marks of what was sent, the payloads."""
