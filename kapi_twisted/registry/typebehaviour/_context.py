"""What the write hooks need beyond the object: the kind and a create context."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol

__all__ = ["JSON", "KindInfo", "CreateContext", "DEFAULT_CONTEXT"]

JSON = Dict[str, Any]

_RNG = random.Random()


class KindInfo(Protocol):
    """What we need of a resource (L{kapi_twisted.apis.registry.ResourceInfo} fits)."""

    group: str
    version: str
    kind: str


@dataclass
class CreateContext:
    """
    What create-time rules need beyond the object.

    @ivar rng: picks the random part of generated volume names.
    @ivar now: the RFC 3339 time of the write (condition timestamps).
    @ivar mount_service_account_token: the ServiceAccount admission plugin
        mounts a projected token volume into pods.
    @ivar service_account: C{(namespace, name) -> ServiceAccount dict or
        None}, to check that a pod's ServiceAccount exists (and read its
        automount and imagePullSecrets); None skips the check.
    @ivar priority_class: C{name -> PriorityClass dict or None}, for classes
        besides the two system ones; None knows only those.
    @ivar default_priority_class: C{() -> PriorityClass dict or None}, the
        class marked C{globalDefault}.
    @ivar limit_ranges: C{namespace -> LimitRange dicts}, whose Container
        defaults the LimitRanger plugin gives to pod containers without them
        (None: no LimitRanger).
    @ivar storage_protection_finalizers: add the C{kubernetes.io/pvc-protection}
        and C{kubernetes.io/pv-protection} finalizers as the
        StorageObjectInUseProtection plugin does. Off by default: without the
        controller that removes them, deleted claims would never go away.
    """

    rng: random.Random = field(default_factory=lambda: _RNG)
    now: str = ""
    mount_service_account_token: bool = True
    service_account: Optional[Callable[[str, str], Optional[JSON]]] = None
    priority_class: Optional[Callable[[str], Optional[JSON]]] = None
    default_priority_class: Optional[Callable[[], Optional[JSON]]] = None
    limit_ranges: Optional[Callable[[str], List[JSON]]] = None
    storage_protection_finalizers: bool = False


DEFAULT_CONTEXT = CreateContext()
