"""
The C{NamespaceLifecycle} admission plugin, as kube-apiserver runs it
(staging apiserver C{admission/plugin/namespace/lifecycle}):

  - the immortal namespaces (C{default}, C{kube-system}, C{kube-public})
    cannot be deleted: 403 C{this namespace may not be deleted};
  - nothing may be created or updated in a namespace that does not exist:
    404 C{namespaces "x" not found};
  - nothing may be created in a namespace being terminated: 403 with a
    C{NamespaceTerminating} cause, so that the namespace controller can
    finish emptying it.

Like kube, which reads namespaces from an informer, the check reads the
namespace from the watch cache (a GET with C{resourceVersion=0}) and falls
back to a live read only when the cache does not have it (a namespace made
a moment ago). As kube does, a namespace whose deletion this server admitted
in the last 30 seconds is read live while the cache still shows it Active
(the cache's watch may not have seen the deletion yet). A cached read has
fired by the time C{get} returns: L{NamespaceLifecycle.check} then decides
at once (no Deferred chain per create), and waits only for a store that
answers later.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from kapi_twisted import apierrors
from kapi_twisted.admission.interface import CREATE, DELETE, Attributes, IAdmission
from kapi_twisted.registry.interface import GetOptions, RequestContext

__all__ = ["IMMORTAL_NAMESPACES", "NamespaceLifecycle", "NAMESPACE_TERMINATING_CAUSE"]

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"

#: Resources that reveal permissions, not content: always admitted (no namespace probing).
_ACCESS_REVIEWS = {("authorization.k8s.io", "localsubjectaccessreviews")}

#: How long after a namespace's deletion is admitted its cached Active state
#: is not trusted, and how many such namespaces are remembered (kube's
#: forceLiveLookupTTL and the size of its forceLiveLookupCache).
FORCE_LIVE_LOOKUP_SECONDS = 30.0
_FORCE_LIVE_LOOKUP_MAX = 100

_CACHED = GetOptions(resource_version="0")
_LIVE = GetOptions()


def _not_found(answer: Any) -> bool:
    return isinstance(answer, Failure) and isinstance(answer.value, apierrors.APIError) \
        and answer.value.code == 404


def _is_namespace(resource: Any) -> bool:
    return resource.group == "" and resource.kind == "Namespace"


@implementer(IAdmission)
class NamespaceLifecycle:
    """
    @param namespaces: the C{v1 namespaces} store.
    @param immortal: namespaces that may never be deleted.
    @param clock: an C{IReactorTime}; by default the namespace store's clock.
    """

    def __init__(self, namespaces: Any, immortal: Iterable[str] = IMMORTAL_NAMESPACES,
                 clock: Any = None) -> None:
        self.namespaces = namespaces
        self.immortal = frozenset(immortal)
        if clock is None:
            clock = getattr(namespaces, "clock", None)
        if clock is None:
            from twisted.internet import reactor as clock  # type: ignore[no-redef]
        self.clock = clock
        # Namespaces whose deletion was admitted lately: until when a cached
        # Active state of theirs is checked live (oldest first).
        self._deleted: Dict[str, float] = {}

    def admit(self, a: Attributes) -> Deferred:
        try:
            pending = self.check(a)
        except BaseException:
            return fail()
        return pending if pending is not None else succeed(None)

    def check(self, a: Attributes) -> Optional[Deferred]:
        """
        Admit (None), refuse (raise an APIError), or, when the namespace
        store has not answered yet, a Deferred that fires (or fails) once
        it has.
        """
        resource = a.resource
        if a.operation == DELETE and _is_namespace(resource):
            if a.name in self.immortal:
                raise apierrors.forbidden("namespaces", a.name, "this namespace may not be deleted")
            self._note_deleted(a.name)
            return None
        if _is_namespace(resource) or not a.namespace:
            return None
        if a.operation == DELETE:
            return None
        if (resource.group, resource.plural) in _ACCESS_REVIEWS:
            return None
        peek = getattr(self.namespaces, "peek_cached", None)
        kv = peek("", a.namespace) if peek is not None else None
        if kv is not None:
            if not (self._deleted and self._recheck(a.namespace, kv)):
                self._judge(a, kv)  # in the cache: decided without a store read
                return None
            live = True
        else:
            d, box = self._read(a.namespace, _CACHED)
            live = bool(box) and (_not_found(box[0]) or self._recheck(a.namespace, box[0]))
        if live:
            d, box = self._read(a.namespace, _LIVE)
        if not box:  # the store answers later
            return d.addCallback(lambda _: self._judge(a, box[0]))
        self._judge(a, box[0])
        return None

    def _note_deleted(self, name: str) -> None:
        deleted = self._deleted
        deleted.pop(name, None)
        deleted[name] = self.clock.seconds() + FORCE_LIVE_LOOKUP_SECONDS
        if len(deleted) > _FORCE_LIVE_LOOKUP_MAX:
            del deleted[next(iter(deleted))]

    def _recheck(self, namespace: str, kv: Any) -> bool:
        """Whether a cached answer must be read again live: an Active namespace deleted lately."""
        deleted = self._deleted
        now = self.clock.seconds()
        while deleted:  # forget the expired, oldest first (the hot path tests emptiness)
            oldest = next(iter(deleted))
            if deleted[oldest] > now:
                break
            del deleted[oldest]
        if namespace not in deleted:
            return False
        return (not isinstance(kv, Failure)
                and (kv.object.get("status") or {}).get("phase") == "Active")

    def _read(self, namespace: str, options: GetOptions) -> Tuple[Deferred, list]:
        """Read the namespace; the list holds the answer if it came at once."""
        d = self.namespaces.get(RequestContext(), "", namespace, options)
        box: list = []
        d.addBoth(box.append)
        return d, box

    @staticmethod
    def _judge(a: Attributes, kv: Any) -> None:
        """Refuse (raise) a create in a terminating namespace; C{kv} may be a Failure."""
        if isinstance(kv, Failure):
            kv.raiseException()
        if a.operation != CREATE:
            return
        phase = ((kv.object.get("status") or {}).get("phase"))
        if phase == "Terminating":
            resource = a.resource
            raise apierrors.forbidden(
                resource.plural, a.name or "Unknown",
                f"unable to create new content in namespace {a.namespace} because it is "
                "being terminated",
                resource.group,
                causes=[{"reason": NAMESPACE_TERMINATING_CAUSE,
                         "message": f"namespace {a.namespace} is being terminated",
                         "field": "metadata.namespace"}])
