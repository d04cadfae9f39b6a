"""Transports: Telegram (polling, webhook), Matrix, the console, HTTP (server, health, metrics)."""
