"""
The store of CustomResourceDefinitions (C{apiextensions.k8s.io/v1}), with
kube-apiserver's CRD strategy: v1 defaults, full validation
(L{kapi_twisted.apiextensions.validation.validate_crd}), a fresh status with
C{storedVersions} on create, C{storedVersions} grown when the storage version
changes, and a DELETE that only marks the CRD C{Terminating} (adding the
C{customresourcecleanup.apiextensions.k8s.io} finalizer) so the finalizer
controller can remove its custom resources first.

Objects live at C{/registry/apiextensions.k8s.io/customresourcedefinitions/<name>}.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from kapi_twisted.apis import registry as apis_registry
from kapi_twisted.registry import validation as v
from kapi_twisted.registry.store import GenericStore
from kapi_twisted.registry.strategy import Strategy

from . import _crd
from ._causes import as_field_errors
from .validation import default_crd, stored_versions, validate_crd

__all__ = ["CRDStrategy", "CRDStore", "crd_info", "build_crd_store"]

_NAME_RULE_TEXT = 'must be spec.names.plural+"."+spec.group'


def crd_info() -> Any:
    """The built-in C{customresourcedefinitions} resource."""
    return apis_registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")


def _own_causes(causes: List[dict]) -> List[dict]:
    """
    The CRD-specific causes: metadata problems the generic store reports
    itself are dropped, except the CRD's own naming rule.
    """
    out = []
    for c in causes:
        field = c.get("field") or ""
        if field.startswith("metadata") and _NAME_RULE_TEXT not in (c.get("message") or ""):
            continue
        out.append(c)
    return out


class CRDStrategy(Strategy):
    """kube's C{customresourcedefinition} strategy."""

    uses_generation = True
    allow_create_on_update = False
    # As kube's CRD strategy: a PUT must carry the resourceVersion it read.
    allow_unconditional_update = False

    def prepare_for_create(self, obj: Dict[str, Any], context: Any = None) -> None:
        default_crd(obj)
        obj["status"] = {
            "acceptedNames": {"plural": "", "kind": ""},
            "storedVersions": stored_versions(obj),
        }

    def prepare_for_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> None:
        default_crd(new)
        status = new.setdefault("status", {})
        status["storedVersions"] = stored_versions(new, old)

    def validate(self, obj: Dict[str, Any]) -> List[v.FieldError]:
        # Create and update are told apart by the store (validate_create/_update).
        return []

    def validate_create(self, obj: Dict[str, Any]) -> List[v.FieldError]:
        return as_field_errors(_own_causes(validate_crd(obj)))

    def validate_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> List[v.FieldError]:
        return as_field_errors(_own_causes(validate_crd(new, old)))

    def mark_for_deletion(self, obj: Dict[str, Any], options: Any,
                          now: str) -> Optional[Dict[str, Any]]:
        """The first DELETE marks the CRD terminating; the finalizer controller does the rest."""
        meta = obj.setdefault("metadata", {})
        if meta.get("deletionTimestamp"):
            return obj if meta.get("finalizers") else None
        meta["deletionTimestamp"] = now
        meta["deletionGracePeriodSeconds"] = 0
        finalizers = meta.setdefault("finalizers", [])
        if _crd.CLEANUP_FINALIZER not in finalizers:
            finalizers.append(_crd.CLEANUP_FINALIZER)
        _crd.set_condition(obj, {
            "type": _crd.TERMINATING, "status": "True", "reason": "InstanceDeletionPending",
            "message": "CustomResourceDefinition marked for deletion; CustomResource deletion "
                       "will begin soon"}, now)
        return obj


class CRDStore(GenericStore):
    """The generic store with the CRD's create-time validation."""

    def _validate_create(self, obj: Dict[str, Any]) -> None:
        super()._validate_create(obj)
        errs = self.strategy.validate_create(obj)
        if errs:
            raise self._invalid((obj.get("metadata") or {}).get("name") or "", errs)


def build_crd_store(storage: Any, clock: Any = None, prefix: str = "/registry") -> CRDStore:
    info = crd_info()
    return CRDStore(info, storage, CRDStrategy(info), clock, prefix)
