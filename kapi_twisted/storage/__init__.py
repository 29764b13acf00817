"""
Storage: an etcd3-shaped key-value contract, its backends, and the watch cache.

See L{kapi_twisted.storage.interface} for the contract every backend keeps,
and L{build_storage} for what the server starts.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

from .interface import (
    ADDED,
    DELETED,
    MODIFIED,
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    IStorage,
    IWatch,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    StorageError,
    StorageFileError,
    UnavailableError,
    with_resource_version,
)

BACKENDS = ("sqlite", "memory", "etcd3")
DATABASE_FILE = "kapi.db"


def build_storage(
    backend: str,
    data_dir: str,
    etcd_servers: Optional[Sequence[str]] = None,
    prefix: str = "/registry",
    compaction_interval: float = 300,
    reactor: Any = None,
    request_timeout: float = 5.0,
) -> IStorage:
    """
    The store the server runs on: a L{WatchCache} over the chosen backend.
    Nothing is opened until its C{start()}.

    @param backend: C{sqlite} (a file C{<data_dir>/kapi.db}), C{memory}, or
        C{etcd3} (C{etcd_servers}: client URLs such as C{http://127.0.0.1:2379}).
    @param prefix: the key prefix (C{--etcd-prefix}); the cache covers
        everything under C{prefix + "/"}.
    @param compaction_interval: seconds between compactions (0: off).
    @param request_timeout: etcd3 only: the bound on every etcd call.
    """
    from .cache import WatchCache

    prefix = prefix.rstrip("/")
    if backend == "memory":
        from .memory import MemoryStorage

        store: Any = MemoryStorage(reactor, compaction_interval=compaction_interval)
    elif backend == "sqlite":
        from .sqlite import SQLiteStorage

        store = SQLiteStorage(
            os.path.join(data_dir, DATABASE_FILE),
            reactor,
            compaction_interval=compaction_interval,
        )
    elif backend == "etcd3":
        from .etcd3 import Etcd3Storage

        if not etcd_servers:
            raise ValueError("--storage-backend=etcd3 needs --etcd-servers")
        store = Etcd3Storage(
            list(etcd_servers),
            reactor=reactor,
            compaction_interval=compaction_interval,
            request_timeout=request_timeout,
            compaction_key=prefix + "/compact_rev_key",
        )
    else:
        raise ValueError(
            f"unknown storage backend {backend!r} (choose from {', '.join(BACKENDS)})"
        )
    return WatchCache(store, prefix + "/", reactor)


__all__ = [
    "ADDED",
    "BACKENDS",
    "DELETED",
    "MODIFIED",
    "CompactedError",
    "ConflictError",
    "Event",
    "FutureRevisionError",
    "IStorage",
    "IWatch",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "ListResult",
    "StorageError",
    "StorageFileError",
    "UnavailableError",
    "build_storage",
    "with_resource_version",
]
