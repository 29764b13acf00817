"""
Pieces every remote backend needs and the local ones do faster their own way.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, inlineCallbacks, maybeDeferred

from .interface import ConflictError, KeyExistsError, KeyNotFoundError, KeyValue


@inlineCallbacks
def guaranteed_update(
    store: Any,
    key: str,
    try_update: Callable[[Optional[KeyValue]], Any],
    ignore_not_found: bool = False,
    attempts: int = 1000,
) -> Deferred:
    """
    L{IStorage.guaranteed_update} in terms of get, create and update: read,
    let C{try_update} decide, compare-and-swap, and on a conflict start over
    from the state the conflict reported.
    """
    try:
        current: Optional[KeyValue] = yield store.get(key)
    except KeyNotFoundError:
        if not ignore_not_found:
            raise
        current = None
    for _ in range(attempts):
        new = yield maybeDeferred(try_update, current)
        if new is None or (current is not None and new == current.value):
            if current is None:
                raise KeyNotFoundError(key)
            return current
        try:
            if current is None:
                result = yield store.create(key, new)
            else:
                result = yield store.update(key, new, current.mod_revision)
            return result
        except ConflictError as e:
            current = e.current
            if current is None and not ignore_not_found:
                raise KeyNotFoundError(key)
        except KeyExistsError:
            current = yield store.get(key)
        except KeyNotFoundError:
            if not ignore_not_found:
                raise
            current = None
    raise ConflictError(key, current)
