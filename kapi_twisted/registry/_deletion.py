"""
What a DELETE leaves behind, as kube-apiserver's generic store decides it
(C{rest.BeforeDelete}, C{updateForGracefulDeletionAndFinalizers},
C{deletionFinalizersForGarbageCollection}, C{markAsDeleting}) and as the pod
and namespace registries override it.

The store calls a strategy's C{mark_for_deletion(obj, options, now)}; the
functions here compute its answer: None to remove the object now, or the
object to keep while it terminates (finalizers pending, a grace period
running, a namespace being emptied). They also say when an update that
empties the finalizers of a terminating object deletes it instead
(C{should_delete_during_update}).

The garbage collector itself (who acts on C{orphan} and
C{foregroundDeletion}) lives in
L{kapi_twisted.controlplane.controllers.garbagecollector}.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Optional

__all__ = [
    "ORPHAN", "FOREGROUND", "BACKGROUND", "UNSUPPORTED",
    "FINALIZER_ORPHAN", "FINALIZER_FOREGROUND", "NAMESPACE_FINALIZER",
    "mark_for_deletion", "mark_pod_for_deletion", "mark_namespace_for_deletion",
    "should_delete_during_update", "namespace_should_delete_during_update",
    "gc_finalizers",
]

JSON = Dict[str, Any]

ORPHAN = "Orphan"
FOREGROUND = "Foreground"
BACKGROUND = "Background"
#: A kind whose deletes never add garbage-collection finalizers.
UNSUPPORTED = "Unsupported"

FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"
_DEFAULT_POD_GRACE = 30

#: The Warning a batch/v1 Job DELETE without a propagation policy answers with.
JOB_ORPHAN_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
    "to remove them or set propagationPolicy=Orphan to suppress this warning")

#: The spec finalizer the namespace controller removes once a namespace is empty.
NAMESPACE_FINALIZER = "kubernetes"


def _parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def _format_time(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shift(now: str, seconds: int) -> str:
    return _format_time(_parse_time(now) + datetime.timedelta(seconds=seconds))


def _should_orphan(finalizers: List[str], options: Any, default_policy: str) -> bool:
    if default_policy == UNSUPPORTED:
        return False
    if options.orphan_dependents is not None:
        return bool(options.orphan_dependents)
    if options.propagation_policy:
        return options.propagation_policy == ORPHAN
    for f in finalizers:
        if f == FINALIZER_ORPHAN:
            return True
        if f == FINALIZER_FOREGROUND:
            return False
    return default_policy == ORPHAN


def _should_delete_dependents(finalizers: List[str], options: Any,
                              default_policy: str) -> bool:
    if default_policy == UNSUPPORTED:
        return False
    if options.orphan_dependents is not None:
        return False
    if options.propagation_policy:
        return options.propagation_policy == FOREGROUND
    for f in finalizers:
        if f == FINALIZER_FOREGROUND:
            return True
        if f == FINALIZER_ORPHAN:
            return False
    return False


def gc_finalizers(finalizers: List[str], options: Any, default_policy: str = "") -> List[str]:
    """
    The finalizers an object has after a DELETE with C{options}: the
    C{orphan} / C{foregroundDeletion} pair replaced as the propagation policy
    (or the legacy C{orphanDependents}, or the finalizers already there, or
    the kind's default) says. The same list when nothing changes.
    """
    orphan = _should_orphan(finalizers, options, default_policy)
    foreground = _should_delete_dependents(finalizers, options, default_policy)
    new = [f for f in finalizers if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)]
    if orphan:
        new.append(FINALIZER_ORPHAN)
    if foreground:
        new.append(FINALIZER_FOREGROUND)
    if set(new) == set(finalizers):
        return finalizers
    return new


def _mark_as_deleting(meta: JSON, now: str) -> None:
    """C{markAsDeleting}: timestamp (never later than now) and a zero grace period."""
    if not meta.get("deletionTimestamp") and (meta.get("generation") or 0) > 0:
        meta["generation"] += 1
    existing = meta.get("deletionTimestamp")
    if not existing or _parse_time(existing) > _parse_time(now):
        meta["deletionTimestamp"] = now
    meta["deletionGracePeriodSeconds"] = 0


def _with_finalizers(obj: JSON, options: Any, now: str, default_policy: str) -> Optional[JSON]:
    """The non-graceful path: keep the object while finalizers remain, else delete."""
    meta = obj.setdefault("metadata", {})
    finalizers = list(meta.get("finalizers") or [])
    new = gc_finalizers(finalizers, options, default_policy)
    if new != finalizers:
        if new:
            meta["finalizers"] = new
        else:
            meta.pop("finalizers", None)
    if not new:
        return None
    _mark_as_deleting(meta, now)
    return obj


def mark_for_deletion(obj: JSON, options: Any, now: str,
                      default_policy: str = "") -> Optional[JSON]:
    """
    The answer for kinds without graceful deletion: None to delete now, or
    C{obj} (modified in place) kept with C{deletionTimestamp} because
    finalizers remain, including the C{orphan} or C{foregroundDeletion}
    finalizer C{options} ask for.
    """
    return _with_finalizers(obj, options, now, default_policy)


def _pod_grace_period(pod: JSON, options: Any) -> int:
    """The pod strategy's C{CheckGracefulDelete}: the period this delete asks for."""
    spec = pod.get("spec") or {}
    if options.grace_period_seconds is not None:
        period = int(options.grace_period_seconds)
    else:
        period = spec.get("terminationGracePeriodSeconds")
        # Defaulting gives every stored pod one; 30 s is kube's default.
        period = _DEFAULT_POD_GRACE if period is None else int(period)
    if not spec.get("nodeName"):
        return 0  # never scheduled: nothing runs, nothing to wait for
    if ((pod.get("status") or {}).get("phase")) in ("Failed", "Succeeded"):
        return 0
    return period


def mark_pod_for_deletion(obj: JSON, options: Any, now: str,
                          default_policy: str = "") -> Optional[JSON]:
    """
    Graceful deletion of pods. A pod bound to a node (C{spec.nodeName}) that
    has not finished gets C{deletionTimestamp = now + grace period} and
    stays (Terminating) until a kubelet, a shorter grace period or
    C{gracePeriodSeconds=0} (C{kubectl delete --force --grace-period=0})
    removes it; other pods go at once unless finalizers hold them.
    """
    meta = obj.setdefault("metadata", {})
    if options.grace_period_seconds is not None and options.grace_period_seconds < 0:
        options.grace_period_seconds = 1
    existing_grace = meta.get("deletionGracePeriodSeconds")
    if meta.get("deletionTimestamp"):
        if not existing_grace:
            return _with_finalizers(obj, options, now, default_policy)
        if options.grace_period_seconds is None or options.grace_period_seconds >= existing_grace:
            return obj  # graceful deletion pending: nothing changes
        period = int(options.grace_period_seconds)
        started = _parse_time(meta["deletionTimestamp"]) - datetime.timedelta(
            seconds=existing_grace)
        meta["deletionTimestamp"] = _format_time(started + datetime.timedelta(seconds=period))
        meta["deletionGracePeriodSeconds"] = period
    else:
        period = _pod_grace_period(obj, options)
        meta["deletionTimestamp"] = _shift(now, period)
        meta["deletionGracePeriodSeconds"] = period
        if (meta.get("generation") or 0) > 0:
            meta["generation"] += 1
    finalizers = list(meta.get("finalizers") or [])
    new = gc_finalizers(finalizers, options, default_policy)
    if new != finalizers:
        if new:
            meta["finalizers"] = new
        else:
            meta.pop("finalizers", None)
    if new or period > 0:
        return obj
    return None


def mark_namespace_for_deletion(obj: JSON, options: Any, now: str) -> Optional[JSON]:
    """
    The namespace registry's Delete: the first DELETE sets
    C{deletionTimestamp} and phase C{Terminating} (and the GC finalizers the
    options ask for) and keeps the namespace for the namespace controller;
    later DELETEs change nothing while C{spec.finalizers} remain; then the
    generic rules apply.
    """
    meta = obj.setdefault("metadata", {})
    if not meta.get("deletionTimestamp"):
        meta["deletionTimestamp"] = now
        status = obj.get("status")
        if not isinstance(status, dict):
            status = obj["status"] = {}
        status["phase"] = "Terminating"
        finalizers = list(meta.get("finalizers") or [])
        new = gc_finalizers(finalizers, options)
        if new != finalizers:
            if new:
                meta["finalizers"] = new
            else:
                meta.pop("finalizers", None)
        return obj
    if (obj.get("spec") or {}).get("finalizers"):
        return obj
    return _with_finalizers(obj, options, now, "")


def should_delete_during_update(new: JSON, old: JSON) -> bool:
    """
    C{ShouldDeleteDuringUpdate}: an update leaving no finalizers on an
    object whose delete already started (with no grace period running)
    deletes it.
    """
    if (new.get("metadata") or {}).get("finalizers"):
        return False
    old_meta = old.get("metadata") or {}
    if not old_meta.get("deletionTimestamp"):
        return False
    return not old_meta.get("deletionGracePeriodSeconds")


def namespace_should_delete_during_update(new: JSON, old: JSON) -> bool:
    """As L{should_delete_during_update}, and C{spec.finalizers} must be empty too."""
    if (new.get("spec") or {}).get("finalizers"):
        return False
    return should_delete_during_update(new, old)
