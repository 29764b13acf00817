"""
Cyclic garbage collector settings for a serving process.

Every request allocates thousands of short-lived objects, and a store keeps
every object it serves alive (index, watch caches), so with CPython's
default thresholds (700, 10, 10) the collector runs a young collection
every few requests and a full one, which walks the whole heap, every few
thousand: about a tenth of the reactor thread's time under a create load.
Nearly all request garbage is freed by reference counting anyway, so
collecting twenty-odd times less often costs little memory. Objects that
exist once the server is ready (modules, the loaded state) are moved out of
the collector's sight for good (C{gc.freeze}).
"""

from __future__ import annotations

import gc
from typing import TypeVar

T = TypeVar("T")

# Young-generation allocations between collections, then how many young
# (middle) collections between middle (full) ones.
THRESHOLDS = (20_000, 20, 20)


def tune_for_serving() -> None:
    """Collect less often (see the module docstring); call once per process."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_objects(result: T) -> T:
    """
    Collect once, then leave everything alive now out of later collections;
    returns C{result} (a callback on the server's C{ready} Deferred).
    """
    gc.collect()
    gc.freeze()
    return result
