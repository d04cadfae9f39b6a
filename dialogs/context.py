"""What the engine may know about the world, handed in by the runtime.

The runtime loads it before each step, so the engine never queries anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseSummary:
    ref: str
    status: str
    created_at: datetime
    lieu_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    now: datetime
    locale_hint: str | None = None
    # The person's cases, newest first (for /statut).
    cases: tuple[CaseSummary, ...] = ()
    # Lieu answers of the person's latest case, offered for reuse by /nouveau.
    last_lieu: Mapping[str, Any] | None = None
