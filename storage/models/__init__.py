"""The SQLAlchemy tables, one module per domain (core: base, people, cases, outbox)."""
