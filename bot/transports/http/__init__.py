"""The HTTP server: Telegram webhook, /healthz, /metrics."""
