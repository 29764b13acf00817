"""
The storage contract: one narrow, etcd3-shaped interface behind which every
backend (memory, SQLite, etcd3) and the watch cache sit.

Revisions are the resourceVersions clients see. A store has one global,
strictly increasing revision; every successful write gets the next one.
Keys are laid out as kube-apiserver lays them out in etcd:
C{<prefix>/<resource>/<namespace>/<name>} or C{<prefix>/<resource>/<name>}.

Values are the objects' JSON encoding (UTF-8 bytes), written by the API layer
with C{metadata.resourceVersion} left out: the revision lives beside the value,
and L{KeyValue.data} splices it in without re-encoding the object.

Every method returns a L{Deferred}; none blocks the reactor for long.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


class StorageError(Exception):
    """
    Base of every error a backend reports; the API layer maps each subclass
    to one Kubernetes C{Status}.
    """


class KeyExistsError(StorageError):
    """A create found the key already present (-> 409 AlreadyExists)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class KeyNotFoundError(StorageError):
    """The key is absent (-> 404 NotFound)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ConflictError(StorageError):
    """
    A compare-and-swap found another revision than expected (-> 409 Conflict).

    @ivar current: the key's current state, or L{None} when it is gone.
    """

    def __init__(self, key: str, current: Optional["KeyValue"] = None) -> None:
        super().__init__(key)
        self.key = key
        self.current = current


class CompactedError(StorageError):
    """
    A revision older than the compacted one was asked for (-> 410 Expired).
    """

    def __init__(self, requested: int, compacted: int, current: int = 0) -> None:
        super().__init__(
            f"revision {requested} has been compacted (compacted {compacted})"
        )
        self.requested = requested
        self.compacted = compacted
        self.current = current


class FutureRevisionError(StorageError):
    """
    A revision newer than the store's was asked for (-> 504 Timeout,
    "Too large resource version").
    """

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"Too large resource version: {requested}, current: {current}")
        self.requested = requested
        self.current = current


class UnavailableError(StorageError):
    """The backend cannot be reached now (-> 503/504); retrying may succeed."""


class StorageFileError(StorageError):
    """
    The storage file cannot be used (corrupt, not ours, locked by another
    process, or from a newer version). C{str(error)} is one line meant to be
    printed as the server's last words; the file is left untouched.
    """


_METADATA_OPEN = b'"metadata":{'


def with_resource_version(value: bytes, revision: int) -> bytes:
    """
    Return C{value} with C{metadata.resourceVersion} set to C{revision}.

    The API layer encodes objects with C{metadata} among their first members
    and without C{resourceVersion}, so a byte splice after the first
    C{"metadata":{} replaces a decode and re-encode.
    """
    at = value.find(_METADATA_OPEN)
    if at < 0:
        obj = json.loads(value)
        obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
        return json.dumps(obj, separators=(",", ":")).encode()
    at += len(_METADATA_OPEN)
    rv = b'"resourceVersion":"%d"' % (revision,)
    if value[at : at + 1] == b"}":
        return value[:at] + rv + value[at:]
    return value[:at] + rv + b"," + value[at:]


@dataclass(eq=False)
class KeyValue:
    """
    One key's state at one revision.

    @ivar key: the full key.
    @ivar value: the stored bytes (JSON without C{resourceVersion}).
    @ivar mod_revision: the revision of the write that produced this state
        (for a deleted key seen in a DELETED event: the deletion's revision).
    @ivar create_revision: the revision at which the key was (re)created.
    """

    key: str
    value: bytes
    mod_revision: int
    create_revision: int = 0
    _data: Optional[bytes] = field(default=None, repr=False)
    _object: Optional[dict] = field(default=None, repr=False)

    @property
    def data(self) -> bytes:
        """The value as clients see it: JSON with C{resourceVersion} set. Cached."""
        if self._data is None:
            self._data = with_resource_version(self.value, self.mod_revision)
        return self._data

    @classmethod
    def with_parsed(cls, key: str, value: bytes, mod_revision: int, create_revision: int,
                    parsed: Optional[dict]) -> "KeyValue":
        """
        A new key value whose L{object} is C{parsed} (the object C{value}
        encodes, handed over) with C{resourceVersion} set, instead of a
        decode of C{value}.
        """
        kv = cls(key, value, mod_revision, create_revision)
        meta = parsed.get("metadata") if parsed is not None else None
        if isinstance(meta, dict):
            meta["resourceVersion"] = str(mod_revision)
            kv._object = parsed
        return kv

    @property
    def object(self) -> dict:
        """
        The parsed value (with C{resourceVersion}). Cached and shared: treat it
        as read-only and deep-copy it before changing anything.
        """
        if self._object is None:
            self._object = json.loads(self.data)
        return self._object


@dataclass(eq=False)
class Event:
    """
    One change, as a watch delivers it.

    @ivar type: L{ADDED}, L{MODIFIED} or L{DELETED}.
    @ivar kv: the new state; for L{DELETED}, the last state before deletion
        with C{mod_revision} set to the deletion's revision.
    @ivar prev_kv: the state before this change (L{None} for L{ADDED}).
    """

    type: str
    kv: KeyValue
    prev_kv: Optional[KeyValue] = None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass
class ListResult:
    """
    One page of a list.

    @ivar items: the key-values, ordered by key.
    @ivar revision: the snapshot revision the page was read at.
    @ivar more: whether keys after the last item remain at that revision.
    @ivar remaining: how many keys remain after this page (0 if unknown or none).
    """

    items: list
    revision: int
    more: bool = False
    remaining: int = 0


class IWatch(Interface):
    """A running watch, made by L{IStorage.watch}."""

    done = Attribute(
        "A Deferred that fires with None when the watch ends (stop() or the "
        "store shutting down), or fails with CompactedError if it fell too far behind."
    )

    revision = Attribute(
        "An int: every change under the watched prefix up to this revision "
        "has been delivered, so it is a safe bookmark resourceVersion."
    )

    def stop() -> None:
        """End the watch; no event is delivered after this returns."""


TryUpdate = Callable[[Optional[KeyValue]], Union[bytes, None, Deferred]]


class IStorage(Interface):
    """
    The contract every backend and the watch cache keep. Keys are strings;
    values are bytes; every method returns a Deferred.
    """

    def start() -> Deferred:
        """Open the store (load state, connect). Fires when ready to serve."""

    def stop() -> Deferred:
        """Close the store; running watches end. Fires when closed."""

    def get(key: str) -> Deferred:
        """Fire with the key's current L{KeyValue}, or fail with KeyNotFoundError."""

    def list(
        prefix: str,
        revision: Optional[int] = None,
        limit: int = 0,
        start_key: Optional[str] = None,
    ) -> Deferred:
        """
        Fire with a L{ListResult} of the keys under C{prefix} (a prefix ending
        in C{/} lists a directory), in key order, starting at C{start_key}
        (inclusive) when given, at most C{limit} items when C{limit} > 0.

        C{revision}: L{None} = the latest, consistent; C{0} = any recent state
        the store has at hand (a cache may answer); C{N} > 0 = exactly at N
        (CompactedError if N is compacted, FutureRevisionError if N is ahead).
        """

    def count(prefix: str) -> Deferred:
        """Fire with the number of live keys under C{prefix}."""

    def create(key: str, value: bytes, parsed: Optional[dict] = None) -> Deferred:
        """
        Fire with the new L{KeyValue}, or fail with KeyExistsError.

        C{parsed}, when the caller has it, is the object C{value} encodes
        (without C{resourceVersion}), handed over: the caller must not touch
        it again. Backends that keep values in this process serve it as the
        new L{KeyValue.object}, so watchers and informers need not decode
        C{value} again; others ignore it.
        """

    def update(key: str, value: bytes, expected_revision: int) -> Deferred:
        """
        Compare-and-swap: write C{value} if the key's mod revision is
        C{expected_revision}. Fire with the new L{KeyValue}; fail with
        ConflictError (revision differs) or KeyNotFoundError.
        """

    def delete(key: str, expected_revision: Optional[int] = None) -> Deferred:
        """
        Delete the key (only if its mod revision is C{expected_revision}, when
        given). Fire with the deleted L{KeyValue} whose C{mod_revision} is the
        deletion's revision; fail with KeyNotFoundError or ConflictError.
        """

    def guaranteed_update(
        key: str, try_update: TryUpdate, ignore_not_found: bool = False
    ) -> Deferred:
        """
        Read-modify-write with retry: call C{try_update(current)} (current is
        L{None} when the key is absent and C{ignore_not_found} is true) which
        returns the new bytes (or a Deferred of them), or L{None} for "no
        change"; write it with compare-and-swap; on conflict read again and
        retry. Errors raised by C{try_update} propagate unchanged. Fire with
        the resulting L{KeyValue} (the current one when nothing changed).
        """

    def watch(
        prefix: str,
        after_revision: int,
        on_event: Callable[[Event], Any],
        on_progress: Optional[Callable[[int], Any]] = None,
    ) -> IWatch:
        """
        Deliver to C{on_event}, in revision order, every change under C{prefix}
        with a revision greater than C{after_revision}, then every later change,
        until stopped. A compacted C{after_revision} ends the watch at once
        with CompactedError in its C{done}. C{on_event} is never called from
        inside this call (history is replayed on a later reactor turn).

        C{on_progress(revision)}, when given, is called now and then (the watch
        cache: every C{progress_interval} seconds, default 1) with the watch's
        bookmark revision when it moved: every change up to it has been
        delivered. The same figure is readable at any time as
        C{IWatch.revision}.
        """

    def current_revision() -> Deferred:
        """Fire with the store's latest revision."""

    def compact(revision: int) -> Deferred:
        """Forget history at and before C{revision}; current state is kept."""

    def check() -> Deferred:
        """Health: fire with None when the store answers, fail otherwise."""
