"""
Reading a stored CustomResourceDefinition: its names, versions, conditions
and per-version settings, with the fallbacks kube-apiserver applies (the
top-level C{spec.validation}/C{subresources}/C{additionalPrinterColumns} of
older CRDs are per-version settings shared by every version).

Also kube's ordering of API versions (C{v2} before C{v1} before C{v1beta2}
before C{v1alpha1} before anything else), used for discovery and preferred
versions.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

ESTABLISHED = "Established"
NAMES_ACCEPTED = "NamesAccepted"
TERMINATING = "Terminating"

_KUBE_VERSION = re.compile(r"^v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?$")
_STAGE_RANK = {None: 0, "beta": 1, "alpha": 2}


def version_priority_key(version: str) -> Tuple:
    """Sort key: GA by major (newest first), then betas, then alphas, then others by name."""
    m = _KUBE_VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    return (_STAGE_RANK[stage], -major, -minor, "")


def sort_versions(versions: List[str]) -> List[str]:
    """C{versions} in kube's priority order (preferred first)."""
    return sorted(set(versions), key=version_priority_key)


def spec(crd: dict) -> dict:
    value = crd.get("spec")
    return value if isinstance(value, dict) else {}


def name_of(crd: dict) -> str:
    return (crd.get("metadata") or {}).get("name") or ""


def group(crd: dict) -> str:
    return spec(crd).get("group") or ""


def namespaced(crd: dict) -> bool:
    return spec(crd).get("scope") == "Namespaced"


def versions(crd: dict) -> List[dict]:
    return [v for v in spec(crd).get("versions") or [] if isinstance(v, dict)]


def version_names(crd: dict) -> List[str]:
    return [v.get("name") or "" for v in versions(crd)]


def served_versions(crd: dict) -> List[str]:
    return [v.get("name") or "" for v in versions(crd) if v.get("served")]


def storage_version(crd: dict) -> str:
    for v in versions(crd):
        if v.get("storage"):
            return v.get("name") or ""
    names = version_names(crd)
    return names[0] if names else ""


def version(crd: dict, name: str) -> Optional[dict]:
    for v in versions(crd):
        if v.get("name") == name:
            return v
    return None


def schema_of(crd: dict, name: str) -> Optional[dict]:
    """The C{openAPIV3Schema} of version C{name} (or the CRD-wide one)."""
    v = version(crd, name) or {}
    schema = (v.get("schema") or {}).get("openAPIV3Schema")
    if schema is None:
        schema = (spec(crd).get("validation") or {}).get("openAPIV3Schema")
    return schema


def subresources_of(crd: dict, name: str) -> dict:
    v = version(crd, name) or {}
    sub = v.get("subresources")
    if sub is None:
        sub = spec(crd).get("subresources")
    return sub if isinstance(sub, dict) else {}


def printer_columns_of(crd: dict, name: str) -> Optional[List[dict]]:
    v = version(crd, name) or {}
    cols = v.get("additionalPrinterColumns")
    if cols is None:
        cols = spec(crd).get("additionalPrinterColumns")
    return cols


def selectable_fields_of(crd: dict, name: str) -> List[str]:
    v = version(crd, name) or {}
    return [f.get("jsonPath", "") for f in v.get("selectableFields") or [] if isinstance(f, dict)]


def accepted_names(crd: dict) -> dict:
    """C{status.acceptedNames}, falling back to C{spec.names} field by field."""
    accepted = (crd.get("status") or {}).get("acceptedNames") or {}
    names = spec(crd).get("names") or {}
    out: Dict[str, Any] = {}
    for key in ("plural", "singular", "kind", "listKind", "shortNames", "categories"):
        value = accepted.get(key)
        out[key] = value if value else names.get(key)
    if not out.get("singular") and out.get("kind"):
        out["singular"] = out["kind"].lower()
    if not out.get("listKind") and out.get("kind"):
        out["listKind"] = out["kind"] + "List"
    return out


def conditions(crd: dict) -> List[dict]:
    return [c for c in (crd.get("status") or {}).get("conditions") or [] if isinstance(c, dict)]


def condition(crd: dict, type_: str) -> Optional[dict]:
    for c in conditions(crd):
        if c.get("type") == type_:
            return c
    return None


def condition_true(crd: dict, type_: str) -> bool:
    c = condition(crd, type_)
    return c is not None and c.get("status") == "True"


def set_condition(crd: dict, new: dict, now: str) -> None:
    """Set (or replace) a condition; C{lastTransitionTime} moves only with its status."""
    status = crd.setdefault("status", {})
    conds = status.setdefault("conditions", [])
    new = dict(new)
    for i, c in enumerate(conds):
        if c.get("type") == new["type"]:
            if c.get("status") == new.get("status") and c.get("lastTransitionTime"):
                new["lastTransitionTime"] = c["lastTransitionTime"]
            else:
                new["lastTransitionTime"] = now
            conds[i] = _condition_order(new)
            return
    new["lastTransitionTime"] = now
    conds.append(_condition_order(new))


def _condition_order(c: dict) -> dict:
    keys = ("type", "status", "lastTransitionTime", "reason", "message")
    out = {k: c[k] for k in keys if k in c}
    out.update({k: v for k, v in c.items() if k not in out})
    return out


def serving_allowed(crd: dict) -> bool:
    """kube serves a CRD's resources once its names are accepted or it is established."""
    return condition_true(crd, NAMES_ACCEPTED) or condition_true(crd, ESTABLISHED)


def terminating(crd: dict) -> bool:
    return bool((crd.get("metadata") or {}).get("deletionTimestamp")) or condition_true(
        crd, TERMINATING)


def reversed_group(group_name: str) -> str:
    """C{stable.example.com} -> C{com.example.stable} (OpenAPI definition names)."""
    return ".".join(reversed(group_name.split(".")))
