#!/usr/bin/env python3
"""
Generate L{kapi_twisted.apis._resource_table} from Kubernetes' discovery documents.

Input: the discovery fixtures the Kubernetes project publishes for kube-apiserver
(C{aggregated_v2.json}: every group but core, in the order the aggregator lists them;
C{api__v1.json}: the legacy core C{/api/v1} resource list), by default from
C{../shared/reference/discovery/}.  Those fixtures are generated with every API version
switched on; kube-apiserver 1.37 serves only GA versions (plus betas enabled by default:
none in 1.37), so this script keeps GA versions only.

The fixtures predate a few 1.37 promotions to GA (the 1.37 schemas and protobuf files
carry these kinds at v1); L{PROMOTED} lists them, with the pre-release version whose
discovery facts (verbs, short names, categories, subresources) they keep.  L{EXTRA}
lists the few facts no fixture carries at all.

Usage: C{python tools/gen_resource_table.py [discovery-dir] > kapi_twisted/apis/_resource_table.py}
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "..", "..", "shared", "reference", "discovery")

# Betas kube-apiserver 1.37 serves without --runtime-config (none: new betas are off by
# default since 1.24, and the last older ones were removed).
DEFAULT_ON_BETAS: Tuple[Tuple[str, str], ...] = ()

# (group, GA version, resource, version of the fixture entry to take facts from,
#  extra subresources added at GA).
PROMOTED: Tuple[Tuple[str, str, str, str, Tuple[str, ...]], ...] = (
    ("admissionregistration.k8s.io", "v1", "mutatingadmissionpolicies", "v1alpha1", ()),
    ("admissionregistration.k8s.io", "v1", "mutatingadmissionpolicybindings", "v1alpha1", ()),
    ("certificates.k8s.io", "v1", "clustertrustbundles", "v1beta1", ()),
    ("storage.k8s.io", "v1", "volumeattributesclasses", "v1beta1", ()),
    ("resource.k8s.io", "v1", "deviceclasses", "v1beta2", ()),
    ("resource.k8s.io", "v1", "resourceclaims", "v1beta2", ()),
    ("resource.k8s.io", "v1", "resourceclaimtemplates", "v1beta2", ()),
    ("resource.k8s.io", "v1", "resourceslices", "v1beta2", ()),
    ("resource.k8s.io", "v1", "devicetaintrules", "v1alpha3", ("status",)),
    ("storagemigration.k8s.io", "v1", "storageversionmigrations", "v1alpha1", ()),
)

_STANDARD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_STATUS_VERBS = ["get", "patch", "update"]

# Resources and subresources that no fixture carries (added to Kubernetes after them).
EXTRA_RESOURCES: Tuple[Dict[str, Any], ...] = (
    {"group": "certificates.k8s.io", "version": "v1", "resource": "podcertificaterequests",
     "singularResource": "podcertificaterequest", "scope": "Namespaced",
     "responseKind": {"group": "certificates.k8s.io", "version": "v1", "kind": "PodCertificateRequest"},
     "verbs": _STANDARD_VERBS,
     "subresources": [{"subresource": "status", "verbs": _STATUS_VERBS,
                       "responseKind": {"group": "certificates.k8s.io", "version": "v1",
                                        "kind": "PodCertificateRequest"}}]},
)
EXTRA_SUBRESOURCES: Tuple[Tuple[str, str, str, Dict[str, Any]], ...] = (
    # In-place pod resize (KEP-1287) added pods/resize in 1.33.
    ("", "v1", "pods", {"subresource": "resize", "verbs": _STATUS_VERBS,
                        "responseKind": {"group": "", "version": "v1", "kind": "Pod"}}),
)

# kube-apiserver's etcd resourcePrefix exceptions (generic-server.md section 6).
ETCD_PREFIX_EXCEPTIONS = {
    ("", "replicationcontrollers"): "controllers",
    ("", "endpoints"): "services/endpoints",
    ("", "nodes"): "minions",
    ("", "services"): "services/specs",
    ("networking.k8s.io", "ingresses"): "ingress",
    ("extensions", "ingresses"): "ingress",
}
# Groups served by the other servers of the chain keep the group in the prefix.
GROUP_PREFIXED = {"apiextensions.k8s.io", "apiregistration.k8s.io"}


def _is_served(group: str, version: str) -> bool:
    return bool(re.fullmatch(r"v\d+", version)) or (group, version) in DEFAULT_ON_BETAS


def _version_key(version: str) -> Tuple[int, int, int]:
    """Kubernetes' version priority: GA > beta > alpha, then higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    assert m, version
    level = {None: 2, "beta": 1, "alpha": 0}[m.group(2)]
    return (-level, -int(m.group(1)), -int(m.group(3) or 0))


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """kube-apiserver's opaque storage version hash: base64 of sha256(g/v/k)[:8]."""
    digest = hashlib.sha256(("%s/%s/%s" % (group, version, kind)).encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _core_entries(api_v1: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Turn the legacy core list into aggregated-style entries (parents + subresources)."""
    parents: Dict[str, Dict[str, Any]] = {}
    order: List[str] = []
    for r in api_v1["resources"]:
        name = r["name"]
        if "/" in name:
            continue
        parents[name] = {
            "resource": name,
            "singularResource": r.get("singularName", ""),
            "scope": "Namespaced" if r["namespaced"] else "Cluster",
            "responseKind": {"group": "", "version": "v1", "kind": r["kind"]},
            "verbs": list(r["verbs"]),
            "shortNames": list(r.get("shortNames", [])),
            "categories": list(r.get("categories", [])),
            "subresources": [],
            "_hash": r.get("storageVersionHash"),
        }
        order.append(name)
    for r in api_v1["resources"]:
        name = r["name"]
        if "/" not in name:
            continue
        parent, sub = name.split("/", 1)
        parents[parent]["subresources"].append({
            "subresource": sub,
            "responseKind": {"group": r.get("group", ""), "version": r.get("version", "v1"),
                             "kind": r["kind"]},
            "verbs": list(r["verbs"]),
        })
    return [parents[n] for n in order]


def _row(group: str, version: str, r: Dict[str, Any]) -> Tuple[Any, ...]:
    plural = r["resource"]
    kind = r["responseKind"]["kind"]
    verbs = tuple(sorted(r.get("verbs", [])))
    subs = []
    for s in sorted(r.get("subresources", []), key=lambda s: s["subresource"]):
        rk = s.get("responseKind") or {}
        # Discovery leaves group and version empty when they are the parent's.
        if rk.get("version"):
            sub_group, sub_version = rk.get("group", ""), rk["version"]
        else:
            sub_group, sub_version = group, version
        subs.append((s["subresource"], sub_group, sub_version, rk.get("kind", kind),
                     tuple(sorted(s.get("verbs", [])))))
    if group in GROUP_PREFIXED:
        prefix = "%s/%s" % (group, plural)
    else:
        prefix = ETCD_PREFIX_EXCEPTIONS.get((group, plural), plural)
    stored = "get" in verbs and "create" in verbs
    svh = storage_version_hash(group, version, kind) if stored else ""
    if r.get("_hash") is not None and r["_hash"] != svh:
        raise SystemExit("storage version hash mismatch for %s: %s != %s" % (plural, r["_hash"], svh))
    list_kind = kind + "List" if "list" in verbs else ""
    return (group, version, plural, r.get("singularResource", ""), kind,
            r["scope"] == "Namespaced", verbs, tuple(r.get("shortNames", []) or ()),
            tuple(r.get("categories", []) or ()), tuple(subs), prefix, list_kind, svh)


def build(discovery_dir: str) -> Tuple[List[Tuple[str, Tuple[str, ...]]], List[Tuple[Any, ...]]]:
    with open(os.path.join(discovery_dir, "aggregated_v2.json")) as f:
        aggregated = json.load(f)
    with open(os.path.join(discovery_dir, "api__v1.json")) as f:
        api_v1 = json.load(f)

    # group -> version -> [entries], keeping the fixture's group order.
    groups: Dict[str, Dict[str, List[Dict[str, Any]]]] = {"": {"v1": _core_entries(api_v1)}}
    fixture: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
    for item in aggregated["items"]:
        gname = item["metadata"].get("name", "")
        versions = groups.setdefault(gname, {})
        for v in item["versions"]:
            for r in v["resources"]:
                fixture[(gname, v["version"], r["resource"])] = r
            if v.get("freshness", "Current") != "Current" or not _is_served(gname, v["version"]):
                continue
            versions[v["version"]] = [r for r in v["resources"] if r.get("responseKind")]

    for group, version, plural, source_version, extra_subs in PROMOTED:
        src = fixture[(group, source_version, plural)]
        entry = json.loads(json.dumps(src))
        entry["responseKind"]["version"] = version
        subs = entry.setdefault("subresources", [])
        for s in subs:
            if s.get("responseKind", {}).get("group") == group:
                s["responseKind"]["version"] = version
        for name in extra_subs:
            subs.append({"subresource": name, "verbs": _STATUS_VERBS,
                         "responseKind": dict(entry["responseKind"])})
        existing = groups[group].setdefault(version, [])
        if not any(e["resource"] == plural for e in existing):
            existing.append(entry)
    for entry in EXTRA_RESOURCES:
        entry = dict(entry)
        group, version = entry.pop("group"), entry.pop("version")
        groups[group].setdefault(version, []).append(entry)
    for group, version, plural, sub in EXTRA_SUBRESOURCES:
        for e in groups[group][version]:
            if e["resource"] == plural and not any(
                    s["subresource"] == sub["subresource"] for s in e["subresources"]):
                e["subresources"].append(sub)

    group_versions: List[Tuple[str, Tuple[str, ...]]] = []
    rows: List[Tuple[Any, ...]] = []
    for gname, versions in groups.items():
        served = sorted((v for v in versions if versions[v]), key=_version_key)
        if not served:
            continue
        group_versions.append((gname, tuple(served)))
        for v in served:
            for r in sorted(versions[v], key=lambda r: r["resource"]):
                rows.append(_row(gname, v, r))
    return group_versions, rows


def render(group_versions: List[Tuple[str, Tuple[str, ...]]], rows: List[Tuple[Any, ...]]) -> str:
    out = [
        '"""',
        "Kubernetes 1.37 built-in resources as kube-apiserver serves them by default.",
        "",
        "GENERATED by tools/gen_resource_table.py from the discovery documents published by",
        "the Kubernetes project (kubernetes/kubernetes api/discovery, Apache License 2.0).",
        "Do not edit; change the generator and run it again.",
        "",
        "GROUP_VERSIONS: (group, versions in preference order) in /apis order.",
        "RESOURCES: (group, version, plural, singular, kind, namespaced, verbs, short names,",
        "categories, subresources ((name, group, version, kind, verbs), ...), etcd prefix,",
        "list kind, storage version hash).",
        '"""',
        "",
        "GROUP_VERSIONS = (",
    ]
    for g in group_versions:
        out.append("    %r," % (g,))
    out.append(")")
    out.append("")
    out.append("RESOURCES = (")
    for r in rows:
        out.append("    %r," % (r,))
    out.append(")")
    return "\n".join(out) + "\n"


def main(argv: List[str]) -> None:
    discovery_dir = argv[1] if len(argv) > 1 else DEFAULT_DIR
    sys.stdout.write(render(*build(discovery_dir)))


if __name__ == "__main__":
    main(sys.argv)
