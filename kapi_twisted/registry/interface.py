"""
The seam between HTTP handlers (L{kapi_twisted.endpoints}) and the generic
store (L{kapi_twisted.registry}): request options as parsed values, and the
L{IResourceStore} every resource's store provides.

Handlers parse a request into these options, call one store method, and
render what comes back; stores never see HTTP, and raise
L{kapi_twisted.apierrors.APIError} for every failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

from zope.interface import Attribute, Interface

STRICT = "Strict"
WARN = "Warn"
IGNORE = "Ignore"


@dataclass
class RequestContext:
    """
    Who asks, and where the answer's side notes go.

    @ivar user: the authenticated user (L{kapi_twisted.auth} user info) or None.
    @ivar warnings: texts the handler sends as C{Warning: 299 - "..."} headers.
    @ivar body_owned: the object handed to C{create} was decoded for this
        request alone and nothing reads it afterwards, so the store may
        change it in place instead of copying it first. Callers that keep
        or reuse what they pass (controllers, create-on-update) leave it
        False.
    """

    user: Any = None
    warnings: List[str] = field(default_factory=list)
    body_owned: bool = False


@dataclass
class GetOptions:
    resource_version: str = ""


@dataclass
class ListOptions:
    """C{ListOptions} as received (strings kept as sent; "" means unset)."""

    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    limit: int = 0
    continue_token: str = ""
    allow_watch_bookmarks: bool = False
    send_initial_events: Optional[bool] = None
    timeout_seconds: Optional[int] = None


@dataclass
class WriteOptions:
    """Create, update and patch options."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = WARN


@dataclass
class DeleteOptions:
    dry_run: bool = False
    grace_period_seconds: Optional[int] = None
    propagation_policy: str = ""
    orphan_dependents: Optional[bool] = None
    precondition_uid: str = ""
    precondition_resource_version: str = ""


@dataclass
class ListPage:
    """
    One LIST answer.

    @ivar items: L{kapi_twisted.storage.interface.KeyValue}s (C{kv.data} is
        the object's JSON with its resourceVersion; C{kv.object} the parsed,
        shared, read-only dict) or plain dicts (for dry-run/computed answers).
    """

    items: List[Any]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: Optional[int] = None


@dataclass
class WatchEvent:
    """
    One watch event: C{type} is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
    C{kv} carries stored objects; C{object} a computed one (bookmarks, the
    Status of an ERROR event).
    """

    type: str
    kv: Any = None
    object: Optional[dict] = None

    def as_object(self) -> dict:
        return self.object if self.object is not None else self.kv.object


@dataclass
class WriteResult:
    """
    A write's outcome. C{kv} is the stored state (None for dry-run, where
    C{object} holds the would-be object); C{created} says 201 rather than 200.
    """

    kv: Any = None
    object: Optional[dict] = None
    created: bool = False

    def as_object(self) -> dict:
        return self.object if self.object is not None else self.kv.object


@dataclass
class DeleteResult:
    """
    C{finished}: the object is gone (otherwise it is terminating, held by
    finalizers or a grace period, and C{kv}/C{object} is its current state).
    """

    kv: Any = None
    object: Optional[dict] = None
    finished: bool = True

    def as_object(self) -> dict:
        return self.object if self.object is not None else self.kv.object


class IResourceStore(Interface):
    """The generic store of one resource (e.g. C{apps/v1 deployments})."""

    info = Attribute("The L{kapi_twisted.apis} ResourceInfo this store serves.")

    def get(ctx: RequestContext, namespace: str, name: str, options: GetOptions):
        """Deferred -> KeyValue (404 NotFound as APIError)."""

    def list(ctx: RequestContext, namespace: str, options: ListOptions):
        """Deferred -> L{ListPage}. C{namespace} "" lists all namespaces."""

    def watch(
        ctx: RequestContext,
        namespace: str,
        options: ListOptions,
        send: Callable[[WatchEvent], Any],
    ):
        """
        Deferred -> an IWatch-like object with C{stop()} and C{done}, firing
        once the watch is set up (errors such as 410 for a too-old
        resourceVersion are delivered as an ERROR event through C{send}, as
        kube-apiserver does, after which the watch is done).
        """

    def create(ctx: RequestContext, namespace: str, obj: dict, options: WriteOptions):
        """Deferred -> L{WriteResult} (created=True)."""

    def update(
        ctx: RequestContext,
        namespace: str,
        name: str,
        obj: dict,
        options: WriteOptions,
        subresource: str = "",
    ):
        """Deferred -> L{WriteResult}; C{subresource} "status" writes only status."""

    def patch(
        ctx: RequestContext,
        namespace: str,
        name: str,
        apply_patch: Callable[[dict], dict],
        options: WriteOptions,
        subresource: str = "",
    ):
        """
        Read the current object, call C{apply_patch(copy)} for the new one
        (retrying on conflict), validate and write. Deferred -> L{WriteResult}.
        """

    def delete(ctx: RequestContext, namespace: str, name: str, options: DeleteOptions):
        """Deferred -> L{DeleteResult}."""

    def delete_collection(
        ctx: RequestContext, namespace: str, list_options: ListOptions, options: DeleteOptions
    ):
        """Deferred -> L{ListPage} of the deleted items."""
