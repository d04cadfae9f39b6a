"""Coordination commands at run time: who is typing (roles.py), the call a
handler receives (call.py), the registry (registry.py), the routing from both
transports (router.py) and the handlers by domain (handlers/)."""
