"""
The PodSpec and what it embeds, defaulted as kube's generated walk does for
every object holding one (Pod, PodTemplate and all workload templates):
containers, probes, ports, env, volumes, resource quantities, image pull
policy. Plus the conversion effect that shows in every PodSpec: the
deprecated C{serviceAccount} mirrors C{serviceAccountName}.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from . import _quantity
from ._util import JSON, blank, child, default, default_int, default_str, items, spec_of

__all__ = ["pod_spec", "pod_template_spec", "template_metadata", "container", "volume",
           "pvc_spec", "persistent_volume_source", "resource_list", "requirements",
           "image_tag", "image_pull_policy"]

DEFAULT_MODE = 0o644  # 420: secret, configMap, downwardAPI and projected volumes
TOKEN_EXPIRATION_SECONDS = 3600
SERVICE_ACCOUNT_MIRROR = True

# -- quantities ---------------------------------------------------------------------


def resource_list(parent: Optional[JSON], key: str) -> None:
    """Canonical quantities in C{parent[key]} (raises L{_quantity.QuantityError})."""
    if parent is None:
        return
    rl = parent.get(key)
    if not isinstance(rl, dict):
        return
    for name, value in rl.items():
        if value is not None:
            rl[name] = _quantity.canonical_resource_value(value)


def requirements(parent: JSON, key: str = "resources") -> JSON:
    """A C{ResourceRequirements} struct: always written, quantities canonical."""
    req = child(parent, key, create=True)
    resource_list(req, "limits")
    resource_list(req, "requests")
    return req  # type: ignore[return-value]


# -- images -------------------------------------------------------------------------

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_NAME = re.compile(rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$")


def image_tag(image: Any) -> str:
    """The tag of an image reference (C{latest} when neither tag nor digest; "" if invalid)."""
    if not isinstance(image, str) or not image:
        return ""
    name, _, digest = image.partition("@")
    if digest and not _DIGEST.match(digest):
        return ""
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.match(tag):
            return ""
    if not _NAME.match(name):
        return ""
    if not tag and not digest:
        tag = "latest"
    return tag


def image_pull_policy(image: Any) -> str:
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


# -- containers ---------------------------------------------------------------------


def _http_get(action: Optional[JSON]) -> None:
    if action is not None:
        default_str(action, "path", "/")
        default_str(action, "scheme", "HTTP")


def _probe(probe: Optional[JSON]) -> None:
    if probe is None:
        return
    default_int(probe, "timeoutSeconds", 1)
    default_int(probe, "periodSeconds", 10)
    default_int(probe, "successThreshold", 1)
    default_int(probe, "failureThreshold", 3)
    _http_get(child(probe, "httpGet"))
    grpc = child(probe, "grpc")
    if grpc is not None:
        default(grpc, "service", "")


def container(c: JSON) -> None:
    """One container, init container or ephemeral container."""
    if blank(c, "imagePullPolicy"):
        c["imagePullPolicy"] = image_pull_policy(c.get("image"))
    default_str(c, "terminationMessagePath", "/dev/termination-log")
    default_str(c, "terminationMessagePolicy", "File")
    for port in items(c, "ports"):
        default_str(port, "protocol", "TCP")
    for env in items(c, "env"):
        value_from = child(env, "valueFrom")
        if value_from is not None:
            field_ref = child(value_from, "fieldRef")
            if field_ref is not None:
                default_str(field_ref, "apiVersion", "v1")
    requirements(c)
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(child(c, key))
    lifecycle = child(c, "lifecycle")
    if lifecycle is not None:
        for key in ("postStart", "preStop"):
            handler = child(lifecycle, key)
            if handler is not None:
                _http_get(child(handler, "httpGet"))


# -- volumes ------------------------------------------------------------------------


def _field_refs(downward: Optional[JSON]) -> None:
    for item in items(downward, "items"):
        ref = child(item, "fieldRef")
        if ref is not None:
            default_str(ref, "apiVersion", "v1")


def _rbd(src: Optional[JSON]) -> None:
    if src is not None:
        default_str(src, "pool", "rbd")
        default_str(src, "user", "admin")
        default_str(src, "keyring", "/etc/ceph/keyring")


def _iscsi(src: Optional[JSON]) -> None:
    if src is not None:
        default_str(src, "iscsiInterface", "default")


def _azure_disk(src: Optional[JSON]) -> None:
    if src is not None:
        default(src, "cachingMode", "ReadWrite")
        default(src, "kind", "Shared")
        default(src, "fsType", "ext4")
        default(src, "readOnly", False)


def _scale_io(src: Optional[JSON]) -> None:
    if src is not None:
        default_str(src, "storageMode", "ThinProvisioned")
        default_str(src, "fsType", "xfs")


def _host_path(src: Optional[JSON]) -> None:
    if src is not None:
        default(src, "type", "")


def persistent_volume_source(spec: JSON) -> None:
    """The volume sources a PersistentVolume spec shares with pod volumes."""
    _host_path(child(spec, "hostPath"))
    _rbd(child(spec, "rbd"))
    _iscsi(child(spec, "iscsi"))
    _azure_disk(child(spec, "azureDisk"))
    _scale_io(child(spec, "scaleIO"))


def volume(v: JSON) -> None:
    """One pod volume: an empty source means C{emptyDir: {}}."""
    if all(value is None for key, value in v.items() if key != "name"):
        v["emptyDir"] = {}
    _host_path(child(v, "hostPath"))
    for key in ("secret", "configMap"):
        src = child(v, key)
        if src is not None:
            default(src, "defaultMode", DEFAULT_MODE)
    downward = child(v, "downwardAPI")
    if downward is not None:
        default(downward, "defaultMode", DEFAULT_MODE)
        _field_refs(downward)
    projected = child(v, "projected")
    if projected is not None:
        default(projected, "defaultMode", DEFAULT_MODE)
        for source in items(projected, "sources"):
            _field_refs(child(source, "downwardAPI"))
            token = child(source, "serviceAccountToken")
            if token is not None:
                default(token, "expirationSeconds", TOKEN_EXPIRATION_SECONDS)
    _iscsi(child(v, "iscsi"))
    _rbd(child(v, "rbd"))
    _azure_disk(child(v, "azureDisk"))
    _scale_io(child(v, "scaleIO"))
    ephemeral = child(v, "ephemeral")
    if ephemeral is not None:
        template = child(ephemeral, "volumeClaimTemplate")
        if template is not None:
            pvc_spec(spec_of(template))
    image = child(v, "image")
    if image is not None and blank(image, "pullPolicy"):
        image["pullPolicy"] = image_pull_policy(image.get("reference"))


def pvc_spec(spec: JSON) -> None:
    """A C{PersistentVolumeClaimSpec} (claims, claim templates, ephemeral volumes)."""
    default(spec, "volumeMode", "Filesystem")
    requirements(spec)


# -- pod specs ----------------------------------------------------------------------


def pod_spec(spec: JSON) -> None:
    """C{SetDefaults_PodSpec} and everything nested, for every PodSpec."""
    default_str(spec, "dnsPolicy", "ClusterFirst")
    default_str(spec, "restartPolicy", "Always")
    default(spec, "securityContext", {})
    default(spec, "terminationGracePeriodSeconds", 30)
    default_str(spec, "schedulerName", "default-scheduler")
    for v in items(spec, "volumes"):
        volume(v)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in items(spec, key):
            container(c)
    resource_list(spec, "overhead")
    pod_resources = child(spec, "resources")
    if pod_resources is not None:
        requirements(spec)
    # Conversion: serviceAccount is the deprecated alias of serviceAccountName.
    if SERVICE_ACCOUNT_MIRROR:
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or ""
        if name:
            spec["serviceAccountName"] = name
            spec["serviceAccount"] = name
        else:
            spec.pop("serviceAccount", None)


def template_metadata(template: JSON) -> JSON:
    """
    An embedded ObjectMeta: a Go struct, so always written, and since 1.33
    without the C{creationTimestamp: null} older clients send.
    """
    meta = child(template, "metadata", create=True)
    if "creationTimestamp" in meta and meta["creationTimestamp"] is None:  # type: ignore[operator]
        del meta["creationTimestamp"]  # type: ignore[union-attr]
    return meta  # type: ignore[return-value]


def pod_template_spec(template: JSON) -> None:
    """A C{PodTemplateSpec}: its metadata and spec."""
    template_metadata(template)
    pod_spec(spec_of(template))
