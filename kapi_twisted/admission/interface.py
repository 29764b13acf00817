"""
The admission seam: what a plugin sees of a request (L{Attributes}) and what
it provides (L{IAdmission}). The generic store calls its C{admission} (an
L{IAdmission}, usually an L{AdmissionChain}) before a create is validated
and before a delete, as kube-apiserver's handlers run admission around its
store; a plugin refuses by raising (or failing with) an
L{kapi_twisted.apierrors.APIError}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import Interface, implementer

__all__ = ["CREATE", "UPDATE", "DELETE", "CONNECT", "Attributes", "IAdmission",
           "AdmissionChain"]

CREATE = "CREATE"
UPDATE = "UPDATE"
DELETE = "DELETE"
CONNECT = "CONNECT"


@dataclass
class Attributes:
    """
    One request as admission sees it.

    @ivar operation: L{CREATE}, L{UPDATE}, L{DELETE} or L{CONNECT}.
    @ivar resource: the L{kapi_twisted.apis.registry.ResourceInfo} addressed.
    @ivar namespace: "" for cluster-scoped resources.
    @ivar name: the object's name; for a create, its name or generateName.
    @ivar obj: the new object (creates and updates), else None.
    @ivar user: the requesting user (or None for the server's own writes).
    """

    operation: str
    resource: Any
    namespace: str
    name: str
    obj: Optional[dict] = None
    user: Any = None
    dry_run: bool = False
    subresource: str = ""


class IAdmission(Interface):
    """An admission plugin (or a chain of them)."""

    def admit(attributes: Attributes) -> Deferred:
        """Fire with None to admit; fail with an APIError to refuse."""


@implementer(IAdmission)
class AdmissionChain:
    """
    Plugins run in order; the first refusal wins. A plugin with a C{check}
    method (see L{kapi_twisted.admission.NamespaceLifecycle.check}) is asked
    synchronously, so a chain whose plugins decide at once builds no
    Deferred chain.
    """

    def __init__(self, plugins: Iterable[Any] = ()) -> None:
        self.plugins = list(plugins)

    def admit(self, attributes: Attributes) -> Deferred:
        return self._admit_from(attributes, 0)

    def _admit_from(self, attributes: Attributes, start: int) -> Deferred:
        plugins = self.plugins
        for i in range(start, len(plugins)):
            plugin = plugins[i]
            check = getattr(plugin, "check", None)
            try:
                pending = check(attributes) if check is not None else plugin.admit(attributes)
            except BaseException:
                return fail()
            if isinstance(pending, Deferred):
                return pending.addCallback(
                    lambda _, nxt=i + 1: self._admit_from(attributes, nxt))
        return succeed(None)
