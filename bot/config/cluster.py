"""The `[cluster]` section: this process's name among several on one PostgreSQL
(bot/runtime/leadership.py). Parsed once, like the rest of `bot.config.load`."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLUSTER_KEYS: Mapping[str, type | tuple[type, ...]] = {"name": str}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterConfig:
    # "": the host name and the process id (`process_name`).
    name: str = ""


def parse_cluster(raw: Mapping[str, Any]) -> ClusterConfig:
    return ClusterConfig(name=str(raw.get("name", "")).strip())


def process_name(config: ClusterConfig) -> str:
    """What /healthz, /metrics and PostgreSQL (`application_name`) call this
    process: `[cluster] name`, else ``<host name>-<pid>`` (unique on the machine,
    and a restart is a new process)."""
    return config.name or f"{socket.gethostname()}-{os.getpid()}"
