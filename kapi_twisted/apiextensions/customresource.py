"""
The store of one served version of a custom resource: the generic store
with kube-apiserver's custom-resource strategy and the version's structural
schema applied on every write.

On every write body (create, update, patch, status): unknown fields are
pruned (C{fieldValidation=Strict} makes them a 400, C{Warn} warnings) and
defaults applied. A create is validated against the schema (422 C{Invalid},
one cause per field path); an update also runs the CEL transition rules
against the stored object (C{oldSelf}). With the status subresource, writes
to the main resource keep the stored status and writes to C{/status} keep
everything else; C{metadata.generation} starts at 1 and grows when anything
but metadata (and status, when it is a subresource) changes. A PUT must
carry a resourceVersion (422 otherwise).

    info = custom_resource_info(crd, "v1")
    store = CustomResourceStore(info, versioned_storage, CustomResourceStrategy(info, schema))
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet.defer import fail

from kapi_twisted.apis.registry import ResourceInfo, SubresourceInfo
from kapi_twisted.registry import validation as v
from kapi_twisted.registry.interface import RequestContext, WriteOptions
from kapi_twisted.registry.store import GenericStore
from kapi_twisted.registry.strategy import Strategy

from kapi_twisted import apierrors

from . import _crd
from ._causes import as_field_errors
from .schema import validate_scale

__all__ = [
    "CUSTOM_RESOURCE_VERBS",
    "CustomResourceInfo",
    "CustomResourceStrategy",
    "CustomResourceStore",
    "custom_resource_info",
    "storage_version_hash",
]

#: kube-apiserver lists custom resources' verbs in this order.
CUSTOM_RESOURCE_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create",
                         "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class CustomResourceInfo(ResourceInfo):
    """
    A L{ResourceInfo} for one served version of a CRD, with what serving it
    needs beyond the built-in facts.

    @ivar table_convertor: the version's C{additionalPrinterColumns} table.
    @ivar scale: the C{subresources.scale} paths, or None.
    """

    table_convertor: Any = field(default=None, compare=False, hash=False)
    scale: Optional[Dict[str, str]] = field(default=None, compare=False, hash=False)
    crd_name: str = field(default="", compare=False, hash=False)
    #: The C{Warning} every request to a deprecated version gets ("" when not deprecated).
    deprecation_warning: str = field(default="", compare=False, hash=False)


def deprecation_warning(crd: dict, version: str) -> str:
    """kube's warning for a deprecated served version (its own text, or the default)."""
    v = _crd.version(crd, version) or {}
    if not v.get("deprecated"):
        return ""
    if v.get("deprecationWarning"):
        return v["deprecationWarning"]
    group = _crd.group(crd)
    kind = (_crd.spec(crd).get("names") or {}).get("kind") or ""
    text = f"{group}/{version} {kind} is deprecated"
    mine = _crd.version_priority_key(version)
    newer = [x.get("name") for x in _crd.versions(crd)
             if x.get("served") and not x.get("deprecated")
             and _crd.version_priority_key(x.get("name") or "") < mine]
    if newer:
        text += f"; use {group}/{_crd.sort_versions(newer)[0]} {kind}"
    return text


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """Discovery's C{storageVersionHash}: 8 bytes of SHA-256 of C{group/version/kind}."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def custom_resource_info(crd: dict, version: str, now: Any = None) -> CustomResourceInfo:
    """The L{CustomResourceInfo} of C{crd}'s served C{version} (accepted names)."""
    from kapi_twisted.registry.tables import custom_resource_table

    names = _crd.accepted_names(crd)
    group = _crd.group(crd)
    kind = names.get("kind") or ""
    subs = _crd.subresources_of(crd, version)
    subresources: List[SubresourceInfo] = []
    if "status" in subs:
        subresources.append(SubresourceInfo("status", group, version, kind, SUBRESOURCE_VERBS))
    scale = subs.get("scale") if isinstance(subs.get("scale"), dict) else None
    if scale is not None:
        subresources.append(SubresourceInfo("scale", "autoscaling", "v1", "Scale",
                                            SUBRESOURCE_VERBS))
    try:
        table = custom_resource_table(_crd.printer_columns_of(crd, version), now=now)
    except ValueError:
        table = custom_resource_table(None, now=now)
    plural = names.get("plural") or ""
    return CustomResourceInfo(
        group=group, version=version, plural=plural,
        singular=names.get("singular") or "", kind=kind,
        namespaced=_crd.namespaced(crd), verbs=CUSTOM_RESOURCE_VERBS,
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=tuple(subresources),
        etcd_prefix=f"{group}/{plural}",
        list_kind=names.get("listKind") or kind + "List",
        storage_version_hash=storage_version_hash(group, _crd.storage_version(crd), kind),
        table_convertor=table, scale=scale, crd_name=_crd.name_of(crd),
        deprecation_warning=deprecation_warning(crd, version))


def _at(obj: Any, json_path: str) -> str:
    for part in [p for p in json_path.lstrip(".").split(".") if p]:
        if not isinstance(obj, dict):
            return ""
        obj = obj.get(part)
    if obj is None or isinstance(obj, (dict, list)):
        return ""
    if isinstance(obj, bool):
        return "true" if obj else "false"
    return str(obj)


def register_selectable_fields(info: ResourceInfo, json_paths: List[str]) -> None:
    """
    Make the version's C{selectableFields} usable in field selectors (lists,
    watches), beside C{metadata.name} and C{metadata.namespace}.
    """
    from kapi_twisted.registry import fieldselectors

    field_set = fieldselectors.FieldSet(info)
    field_set.extra = {path.lstrip("."): (lambda o, p=path: _at(o, p)) for path in json_paths}
    # The registry caches one field set per (group, version, plural); a CRD's
    # fields change with the CRD, so its entry is replaced.
    fieldselectors._FIELD_SETS[(info.group, info.version, info.plural)] = field_set


def _without(obj: Dict[str, Any], keys: Tuple[str, ...]) -> Dict[str, Any]:
    return {k: val for k, val in obj.items() if k not in keys}


class CustomResourceStrategy(Strategy):
    """
    kube's custom-resource strategy for one version.

    @param compiled: the version's L{CompiledSchema} (None: no schema).
    """

    uses_generation = True
    allow_create_on_update = False
    allow_unconditional_update = False
    returns_deleted_object = False

    def __init__(self, info: ResourceInfo, compiled: Any = None) -> None:
        super().__init__(info)
        self.compiled = compiled

    def prepare_for_create(self, obj: Dict[str, Any], context: Any = None) -> None:
        if self.has_status:
            obj.pop("status", None)

    def generation_changed(self, new: Dict[str, Any], old: Dict[str, Any]) -> bool:
        ignored: Tuple[str, ...] = ("metadata", "status") if self.has_status else ("metadata",)
        return _without(new, ignored) != _without(old, ignored)

    def validate_schema(self, obj: Dict[str, Any], old: Optional[Dict[str, Any]] = None
                        ) -> List[v.FieldError]:
        """
        The schema's causes, then those of the scale subresource's paths
        (replicas an int64 in 0..2^31-1, the selector a string), as kube's
        custom-resource validator adds them on create and update.
        """
        causes = self.compiled.validate(obj, old) if self.compiled is not None else []
        causes.extend(validate_scale(obj, self.info.scale))
        return as_field_errors(causes)

    def validate_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> List[v.FieldError]:
        return self.validate_schema(new, old)


class CustomResourceStore(GenericStore):
    """
    The generic store with the schema's pruning, defaulting and validation.

    @ivar terminating: set while the CRD is being deleted (creates refused).
    """

    terminating = False

    def _field_validation(self, ctx: RequestContext, obj: Dict[str, Any],
                          options: WriteOptions) -> None:
        if self.strategy.compiled is None:
            return
        super()._field_validation(ctx, obj, options)
        self.strategy.compiled.default(obj)

    def _prune_unknown(self, obj: Dict[str, Any]) -> List[str]:
        return self.strategy.compiled.prune(obj)

    def _validate_create(self, obj: Dict[str, Any]) -> None:
        meta = obj["metadata"]
        errs = v.validate_object_meta(meta, self.info.namespaced, self.strategy.name_rule)
        errs.extend(self.strategy.validate_schema(obj))
        if errs:
            raise self._invalid(meta.get("name") or "", errs)

    def _updated(self, ctx: RequestContext, namespace: str, name: str, cur: Any,
                 body: Dict[str, Any], options: WriteOptions,
                 subresource: str) -> Optional[Dict[str, Any]]:
        new = super()._updated(ctx, namespace, name, cur, body, options, subresource)
        if new is not None and subresource:
            # A status write is checked against the whole schema too.
            errs = self.strategy.validate_schema(new, self.present(cur).object)
            if errs:
                raise self._invalid(name, errs)
        return new

    def create(self, ctx: RequestContext, namespace: str, obj: Dict[str, Any],
               options: WriteOptions):
        if self.terminating:
            return fail(apierrors.method_not_allowed(
                "create not allowed while custom resource definition is terminating"))
        return super().create(ctx, namespace, obj, options)
