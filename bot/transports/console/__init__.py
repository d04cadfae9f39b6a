"""The terminal conversation of `aiguillage chat`."""
