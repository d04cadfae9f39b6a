"""Telegram: the polling loop and sender (transport.py), the webhook."""
