"""The SQLAlchemy tables, one module per domain (`base`: the declarative base;
`core`: people, conversations, cases, outbox).

Every table module is imported here: a table registers on `Base.metadata` when
its module runs, and whoever imports any model (create_all, Alembic's
autogenerate, the repositories) goes through this package first, so the
metadata always holds every table. The table modules import only `base`, never
each other's package, so the graph stays acyclic."""

from storage.models import (  # noqa: F401
    assignment,
    base,
    catalog,
    coordination,
    core,
    followup,
    matrix,
)
