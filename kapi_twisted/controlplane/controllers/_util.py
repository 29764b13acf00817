"""Small helpers the controllers share: timestamps, request contexts, error tests, Deferreds."""

from __future__ import annotations

import datetime
from typing import Any

from twisted.internet.defer import Deferred

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.interface import GetOptions, RequestContext, WriteOptions

#: The field manager kube-controller-manager's clients write with.
FIELD_MANAGER = "kube-controller-manager"


def now_rfc3339(clock: Any) -> str:
    return datetime.datetime.fromtimestamp(
        int(clock.seconds()), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def context() -> RequestContext:
    return RequestContext()


def write_options() -> WriteOptions:
    return WriteOptions(field_manager=FIELD_MANAGER)


def has_cause(error: Any, cause: str) -> bool:
    if not isinstance(error, APIError):
        return False
    causes = (error.details or {}).get("causes") or ()
    return any(c.get("reason") == cause for c in causes)


def get_or_none(store: Any, namespace: str, name: str) -> Deferred:
    """Fire with the stored object's L{KeyValue}, or None when there is none (404)."""

    def gone(failure: Any) -> None:
        failure.trap(APIError)
        if failure.value.code != 404:
            return failure
        return None

    return store.get(context(), namespace, name, GetOptions()).addErrback(gone)


def meta(obj: Any) -> dict:
    return (obj or {}).get("metadata") or {}


def log_error(log: Any, failure: Any, text: str, **fields: Any) -> None:
    """
    Report a controller's failed step: API and storage errors (storage
    unavailable, a conflict) are expected now and then and logged as a warning line; any
    other exception is a bug and logged with its traceback.
    """
    from kapi_twisted.storage.interface import StorageError

    if failure.check(APIError):
        log.warn(text + ": {error}", error=failure.value.message, **fields)
    elif failure.check(StorageError):
        log.warn(text + ": {error}", error=str(failure.value), **fields)
    else:
        log.failure(text, failure, **fields)


def relay(d: Deferred) -> Deferred:
    """A new Deferred firing with None once C{d} fires (C{d} may be waited on again)."""
    out: Deferred = Deferred()

    def fire(result: Any) -> Any:
        out.callback(None)
        return result

    d.addBoth(fire)
    return out
