"""
Validation of CustomResourceDefinition objects (C{apiextensions.k8s.io/v1}),
worded as kube-apiserver words it
(C{apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go}).

kube-apiserver validates the internal form of a v1 CRD, and that shows in the
field paths: when every version has the same schema (the usual single-version
case) the schema is reported at C{spec.validation.openAPIV3Schema}, likewise
C{spec.subresources} and C{spec.additionalPrinterColumns}; a webhook's
client config is C{spec.conversion.webhookClientConfig}. We reproduce those
paths.

Call L{default_crd} first (the v1 defaults kube-apiserver applies when
decoding), then L{validate_crd} (L{validate_crd_status_update} for writes to
C{/status}). kube-apiserver's strategy resets the status on create and keeps
the stored status on update, setting C{status.storedVersions} to include the
storage version; L{validate_crd} checks the status that results, which
L{stored_versions} computes, so the serving code should store that list.
"""

from __future__ import annotations

import copy
import json
from typing import Any, List, Optional
from urllib.parse import urlsplit

from kapi_twisted.registry import validation as meta

from ._conversion import validate_conversion
from ._schema_rules import validate_schema
from .schema import _fielderr as fe

__all__ = ["validate_crd", "validate_crd_status_update", "default_crd", "stored_versions",
           "PRINTER_COLUMN_TYPES"]

PRINTER_COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"]
_COLUMN_FORMATS = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"]
_APPROVAL = "api-approved.kubernetes.io"
_MAX_SELECTABLE_FIELDS = 8


def default_crd(crd: dict) -> dict:
    """The v1 defaults (C{SetDefaults_*}), applied in place; returns C{crd}."""
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    kind = names.get("kind") or ""
    if not names.get("singular") and kind:
        names["singular"] = kind.lower()
    if not names.get("listKind") and kind:
        names["listKind"] = kind + "List"
    conv = spec.get("conversion")
    if not conv:
        spec["conversion"] = {"strategy": "None"}
    else:
        svc = (((conv.get("webhook") or {}).get("clientConfig") or {}).get("service"))
        if isinstance(svc, dict) and svc.get("port") is None:
            svc["port"] = 443
    return crd


def stored_versions(crd: dict, old: Optional[dict] = None) -> List[str]:
    """C{status.storedVersions} as the strategy sets it on create (C{old} None) or update."""
    current = list(((old or {}).get("status") or {}).get("storedVersions") or []) if old else []
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("storage") is True:
            if v.get("name") not in current:
                current.append(v.get("name"))
            break
    return current


def _established(crd: Optional[dict]) -> bool:
    for c in ((crd or {}).get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True":
            return True
    return False


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def validate_crd(crd: dict, old: Optional[dict] = None) -> List[dict]:
    """The causes of a 422 for CRD C{crd} (C{old}: the stored CRD on update)."""
    crd = copy.deepcopy(crd)
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group = spec.get("group") if isinstance(spec.get("group"), str) else ""
    plural = names.get("plural") if isinstance(names.get("plural"), str) else ""
    md = crd.get("metadata") if isinstance(crd.get("metadata"), dict) else {}
    # The strategy resets the status on create and keeps the stored one on update
    # (only the status subresource changes it), adding a new storage version.
    status = copy.deepcopy((old or {}).get("status") or {}) if old is not None else {}
    status["storedVersions"] = stored_versions(crd, old)
    crd["status"] = status

    def name_rule(name: str, prefix: bool) -> List[str]:
        msgs = meta.name_is_dns_subdomain(name, prefix)
        if name != f"{plural}.{group}":
            msgs.append('must be spec.names.plural+"."+spec.group')
        return msgs

    errs: List[dict] = []
    errs.extend(e.cause() for e in meta.validate_object_meta(md, False, name_rule, "metadata"))
    if old is not None:
        errs.extend(e.cause() for e in meta.validate_object_meta_update(md, old.get("metadata") or {}, "metadata"))
    errs.extend(_validate_spec(spec, old))
    errs.extend(_validate_names(status.get("acceptedNames") or {}, "status.acceptedNames"))
    errs.extend(_validate_stored_versions(status["storedVersions"], spec.get("versions") or []))
    errs.extend(_validate_approval(crd, old))
    old_puf = ((old or {}).get("spec") or {}).get("preserveUnknownFields") is True
    if spec.get("preserveUnknownFields") is True and not old_puf:
        errs.append(fe.invalid("spec.preserveUnknownFields", True,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"))
    return errs


def validate_crd_status_update(crd: dict, old: dict) -> List[dict]:
    """The causes of a 422 for an update through C{/status} (conditions, accepted names)."""
    md = crd.get("metadata") if isinstance(crd.get("metadata"), dict) else {}
    errs = [e.cause() for e in meta.validate_object_meta_update(md, old.get("metadata") or {}, "metadata")]
    errs.extend(_validate_names((crd.get("status") or {}).get("acceptedNames") or {}, "status.acceptedNames"))
    return errs


def _validate_spec(spec: dict, old: Optional[dict]) -> List[dict]:
    errs: List[dict] = []
    group = spec.get("group") if isinstance(spec.get("group"), str) else ""
    if not group:
        errs.append(fe.required("spec.group"))
    else:
        msgs = meta.is_dns1123_subdomain(group)
        if msgs:
            errs.append(fe.invalid("spec.group", group, ",".join(msgs)))
        elif len(group.split(".")) < 2:
            errs.append(fe.invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope") or ""
    if not scope:
        errs.append(fe.required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        errs.append(fe.not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))

    versions = [v if isinstance(v, dict) else {} for v in (spec.get("versions") or [])]
    # The internal API hoists per-version fields every version shares to the spec.
    def identical(field: str) -> bool:
        return bool(versions) and all(_canon(v.get(field)) == _canon(versions[0].get(field)) for v in versions)

    schemas_shared = identical("schema")
    subresources_shared = identical("subresources")
    columns_shared = identical("additionalPrinterColumns")
    selectable_shared = schemas_shared and identical("selectableFields")
    top_schema = versions[0].get("schema") if schemas_shared else None
    top_sub = versions[0].get("subresources") if subresources_shared else None
    preserve = spec.get("preserveUnknownFields") is True

    if not (top_schema and (top_schema or {}).get("openAPIV3Schema")):
        for i, v in enumerate(versions):
            if not ((v.get("schema") or {}).get("openAPIV3Schema")):
                errs.append(fe.required(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"))
    if preserve and _any_defaults(versions):
        errs.append(fe.invalid("spec.preserveUnknownFields", True, "must be false in order to use defaults in the schema"))

    storage = 0
    seen = set()
    unique = True
    for i, v in enumerate(versions):
        vp = f"spec.versions[{i}]"
        if v.get("storage") is True:
            storage += 1
        vname = v.get("name") if isinstance(v.get("name"), str) else ""
        if vname in seen:
            unique = False
        seen.add(vname)
        msgs = meta.is_dns1035_label(vname)
        if msgs:
            errs.append(fe.invalid(f"{vp}.name", vname, ",".join(msgs)))
        errs.extend(_deprecation(v, vp))
        sub = top_sub if subresources_shared else v.get("subresources")
        if not schemas_shared:
            errs.extend(_validate_validation(v.get("schema"), _status_enabled(sub), f"{vp}.schema"))
        if not subresources_shared:
            errs.extend(_validate_subresources(v.get("subresources"), f"{vp}.subresources"))
        if not columns_shared:
            for j, col in enumerate(v.get("additionalPrinterColumns") or []):
                errs.extend(_validate_column(col, f"{vp}.additionalPrinterColumns[{j}]"))
        if not selectable_shared and v.get("selectableFields"):
            errs.extend(_validate_selectable(v, v.get("selectableFields"), f"{vp}.selectableFields", (v.get("schema") or {}).get("openAPIV3Schema")))
    if not unique:
        errs.append(fe.invalid("spec.versions", _Versions(versions), "must contain unique version names"))
    if storage != 1:
        errs.append(fe.invalid("spec.versions", _Versions(versions), "must have exactly one version marked as storage version"))
    if versions:
        first = versions[0].get("name") if isinstance(versions[0].get("name"), str) else ""
        msgs = meta.is_dns1035_label(first)
        if first and msgs:
            errs.append(fe.invalid("spec.version", first, ",".join(msgs)))

    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    for k in ("plural", "singular", "kind", "listKind"):
        if not names.get(k):
            errs.append(fe.required(f"spec.names.{k}"))
    errs.extend(_validate_names(names, "spec.names"))

    if schemas_shared:
        errs.extend(_validate_validation(top_schema, any(_status_enabled(v.get("subresources")) for v in versions), "spec.validation"))
    if subresources_shared:
        errs.extend(_validate_subresources(top_sub, "spec.subresources"))
    if columns_shared:
        for j, col in enumerate(versions[0].get("additionalPrinterColumns") or []):
            errs.extend(_validate_column(col, f"spec.additionalPrinterColumns[{j}]"))
    if selectable_shared and versions and versions[0].get("selectableFields"):
        errs.extend(_validate_selectable(versions[0], versions[0]["selectableFields"], "spec.selectableFields",
                                         (top_schema or {}).get("openAPIV3Schema")))

    conv = spec.get("conversion") if isinstance(spec.get("conversion"), dict) else None
    if conv is not None and conv.get("strategy") != "None" and preserve:
        errs.append(fe.invalid("spec.conversion.strategy", conv.get("strategy") or "",
                               "must be None if spec.preserveUnknownFields is true"))
    errs.extend(validate_conversion(conv, old))

    if old is not None:
        ospec = old.get("spec") or {}
        onames = ospec.get("names") or {}
        if _established(old):
            if (spec.get("scope") or "") != (ospec.get("scope") or ""):
                errs.append(fe.invalid("spec.scope", spec.get("scope") or "", "field is immutable"))
            if (names.get("kind") or "") != (onames.get("kind") or ""):
                errs.append(fe.invalid("spec.names.kind", names.get("kind") or "", "field is immutable"))
        if group != (ospec.get("group") or ""):
            errs.append(fe.invalid("spec.group", group, "field is immutable"))
        if (names.get("plural") or "") != (onames.get("plural") or ""):
            errs.append(fe.invalid("spec.names.plural", names.get("plural") or "", "field is immutable"))
    return errs


class _Versions:
    """C{spec.versions} as Go prints the slice of structs (abridged)."""

    def __init__(self, versions: List[dict]) -> None:
        self.versions = versions

    def go_repr(self) -> str:
        inner = ", ".join(
            f"apiextensions.CustomResourceDefinitionVersion{{Name:{fe.go_quote(str(v.get('name') or ''))}, "
            f"Served:{'true' if v.get('served') else 'false'}, Storage:{'true' if v.get('storage') else 'false'}}}"
            for v in self.versions)
        return "[]apiextensions.CustomResourceDefinitionVersion{" + inner + "}"


def _status_enabled(sub: Any) -> bool:
    return isinstance(sub, dict) and sub.get("status") is not None


def _any_defaults(versions: List[dict]) -> bool:
    def walk(s: Any) -> bool:
        if isinstance(s, dict):
            if s.get("default") is not None:
                return True
            return any(walk(v) for v in s.values())
        if isinstance(s, list):
            return any(walk(v) for v in s)
        return False

    return any(walk((v.get("schema") or {}).get("openAPIV3Schema")) for v in versions)


def _deprecation(v: dict, vp: str) -> List[dict]:
    warning = v.get("deprecationWarning")
    if warning is None:
        return []
    p = f"{vp}.deprecationWarning"
    if v.get("deprecated") is not True:
        return [fe.invalid(p, warning, "can only be set for deprecated versions")]
    errs = []
    if len(warning.encode()) > 256:
        errs.append(fe.invalid(p, warning, "must be <= 256 characters long"))
    if not warning:
        errs.append(fe.invalid(p, warning, "must not be an empty string"))
    for i, ch in enumerate(warning):
        if not ch.isprintable():
            errs.append(fe.invalid(p, warning,
                f"must only contain printable UTF-8 characters; non-printable character found at index {len(warning[:i].encode())}"))
            break
    return errs


def _validate_names(names: dict, path: str) -> List[dict]:
    errs: List[dict] = []
    if not isinstance(names, dict):
        return errs
    for k in ("plural", "singular"):
        v = names.get(k)
        if isinstance(v, str) and v:
            msgs = meta.is_dns1035_label(v)
            if msgs:
                errs.append(fe.invalid(f"{path}.{k}", v, ",".join(msgs)))
    for k in ("kind", "listKind"):
        v = names.get(k)
        if isinstance(v, str) and v:
            msgs = meta.is_dns1035_label(v.lower())
            if msgs:
                errs.append(fe.invalid(f"{path}.{k}", v, "may have mixed case, but should otherwise match: " + ",".join(msgs)))
    for i, s in enumerate(names.get("shortNames") or []):
        msgs = meta.is_dns1035_label(s if isinstance(s, str) else "")
        if msgs:
            errs.append(fe.invalid(f"{path}.shortNames[{i}]", s, ",".join(msgs)))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errs.append(fe.invalid(f"{path}.listKind", names["listKind"], "kind and listKind may not be the same"))
    for i, c in enumerate(names.get("categories") or []):
        msgs = meta.is_dns1035_label(c if isinstance(c, str) else "")
        if msgs:
            errs.append(fe.invalid(f"{path}.categories[{i}]", c, ",".join(msgs)))
    return errs


def _validate_validation(validation: Any, status_enabled: bool, path: str) -> List[dict]:
    if not isinstance(validation, dict) or not isinstance(validation.get("openAPIV3Schema"), dict):
        return []
    return validate_schema(validation["openAPIV3Schema"], f"{path}.openAPIV3Schema", status_enabled)


def _simple_json_path(s: str, path: str) -> List[dict]:
    if not s:
        return [fe.invalid(path, s, "must not be empty")]
    if s[0] != ".":
        return [fe.invalid(path, s, "must be a simple json path starting with .")]
    return []


def _validate_subresources(sub: Any, path: str) -> List[dict]:
    errs: List[dict] = []
    if not isinstance(sub, dict) or not isinstance(sub.get("scale"), dict):
        return errs
    scale = sub["scale"]
    for key, prefixes, where in (
        ("specReplicasPath", (".spec.",), ".spec"),
        ("statusReplicasPath", (".status.",), ".status"),
    ):
        v = scale.get(key) or ""
        p = f"{path}.scale.{key}"
        if not v:
            errs.append(fe.required(p))
            continue
        e = _simple_json_path(v, p)
        if e:
            errs.extend(e)
        elif not v.startswith(prefixes):
            errs.append(fe.invalid(p, v, f"should be a json path under {where}"))
    sel = scale.get("labelSelectorPath")
    if isinstance(sel, str) and sel:
        p = f"{path}.scale.labelSelectorPath"
        e = _simple_json_path(sel, p)
        if e:
            errs.extend(e)
        elif not sel.startswith((".spec.", ".status.")):
            errs.append(fe.invalid(p, sel, "should be a json path under either .spec or .status"))
    return errs


def _validate_column(col: Any, path: str) -> List[dict]:
    col = col if isinstance(col, dict) else {}
    errs: List[dict] = []
    if not col.get("name"):
        errs.append(fe.required(f"{path}.name"))
    t = col.get("type") or ""
    one_of = "must be one of " + ",".join(PRINTER_COLUMN_TYPES)
    if not t:
        errs.append(fe.required(f"{path}.type", one_of))
    elif t not in PRINTER_COLUMN_TYPES:
        errs.append(fe.invalid(f"{path}.type", t, one_of))
    fmt = col.get("format") or ""
    if fmt and fmt not in _COLUMN_FORMATS:
        errs.append(fe.invalid(f"{path}.format", fmt, "must be one of " + ",".join(_COLUMN_FORMATS)))
    jp = col.get("jsonPath") or ""
    if not jp:
        errs.append(fe.required(f"{path}.JSONPath"))
    else:
        errs.extend(_simple_json_path(jp, f"{path}.JSONPath"))
    return errs


def _validate_selectable(version: dict, fields: Any, path: str, schema: Any) -> List[dict]:
    from .schema._nodes import compile_node
    from .schema.cel import find_field

    if not isinstance(schema, dict):
        return [fe.invalid(path, "", "selectableFields may only be set when version.schema.openAPIV3Schema is not included")]
    root = compile_node(schema)
    errs: List[dict] = []
    unique: List[str] = []
    for i, f in enumerate(fields or []):
        p = f"{path}[{i}].jsonPath"
        jp = (f or {}).get("jsonPath") if isinstance(f, dict) else None
        if not jp:
            errs.append(fe.required(p))
            continue
        found = find_field(jp, root, allow_brackets=False)
        if found is None:
            why = "array notation is not allowed" if "[" in jp else "does not refer to a valid field"
            errs.append(fe.invalid(p, jp, f"is an invalid path: {why}"))
            continue
        norm, node = found
        if norm.split(".")[0].split("[")[0] == "metadata":
            errs.append(fe.invalid(p, jp, "must not point to fields in metadata"))
        if node.type not in ("string", "boolean", "integer"):
            errs.append(fe.invalid(p, jp,
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."))
        if norm in unique:
            errs.append(fe.duplicate(p, jp))
        else:
            unique.append(norm)
    if len(unique) > _MAX_SELECTABLE_FIELDS:
        errs.append(fe.too_many(path, len(unique), _MAX_SELECTABLE_FIELDS))
    return errs


def _validate_stored_versions(stored: List[str], versions: List[dict]) -> List[dict]:
    p = "status.storedVersions"
    if not stored:
        return [fe.invalid(p, fe.GoStrings(stored), "must have at least one stored version")]
    errs: List[dict] = []
    remaining = {v: i for i, v in enumerate(stored)}
    for v in versions:
        if not isinstance(v, dict):
            continue
        name = v.get("name")
        if v.get("storage") is True and name not in remaining:
            errs.append(fe.invalid(p, fe.GoStrings(stored), f"must have the storage version {name}"))
        remaining.pop(name, None)
    for v, i in remaining.items():
        errs.append(fe.invalid(f"{p}[{i}]", v,
            f"missing from spec.versions; {v} was previously a storage version, and must remain in "
            f"spec.versions until a storage migration ensures no data remains persisted in {v} and "
            f"removes {v} from status.storedVersions"))
    return errs


def _protected_group(group: str) -> bool:
    return group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io"))


def _approval_state(annotations: dict) -> tuple:
    if _APPROVAL not in annotations:
        return "missing", (f'protected groups must have approval annotation "{_APPROVAL}", '
                           "see https://github.com/kubernetes/enhancements/pull/1111")
    value = annotations[_APPROVAL]
    if isinstance(value, str) and value.startswith("unapproved"):
        return "bypassed", ""
    if isinstance(value, str) and "://" in value and urlsplit(value).scheme:
        return "approved", ""
    return "invalid", (f'protected groups must have approval annotation "{_APPROVAL}" with either a URL '
                       'or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111')


def _validate_approval(crd: dict, old: Optional[dict]) -> List[dict]:
    group = (crd.get("spec") or {}).get("group") or ""
    if not isinstance(group, str) or not _protected_group(group):
        return []
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    state, reason = _approval_state(annotations)
    if old is not None:
        old_state, _ = _approval_state((old.get("metadata") or {}).get("annotations") or {})
        if old_state == state:
            return []
    p = f"metadata.annotations[{_APPROVAL}]"
    if state == "missing":
        return [fe.required(p, reason)]
    if state == "invalid":
        return [fe.invalid(p, annotations.get(_APPROVAL), reason)]
    return []
