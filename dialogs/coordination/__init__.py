"""Coordination: the coordinators' commands (grammar, roles and scopes, cases, people, catalog)."""
