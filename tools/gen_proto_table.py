#!/usr/bin/env python3
"""
Derive the project's protobuf field table from Kubernetes' C{generated.proto} files:
C{kapi_twisted/apis/protobuf_fields.json.gz}.

Source: the wire schemas of Kubernetes' built-in types (kubernetes/api and
kubernetes/apimachinery C{generated.proto}, Apache License 2.0), by default from
C{../shared/k8s-proto/}.  A small parser of our own reads the subset of proto2 those
files use (package, import, option, message, optional/repeated fields, maps).

For each message the table keeps, per field: number, JSON name, type (a scalar type or a
message's full name), label (C{o}ptional, C{r}epeated, C{m}ap with string keys) and
whether a zero value read from the wire belongs in the JSON form (see L{emit_zero}).
JSON names and "required" come from the 1.37 OpenAPI definitions
(C{openapi_definitions.json.gz}): a proto field name is the JSON name except for a few
spellings (C{uID} -> C{uid}) and embedded structs that JSON inlines.

Usage: C{python tools/gen_proto_table.py [proto-dir]}
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "..", "..", "shared", "k8s-proto")
OUTPUT = os.path.join(HERE, "..", "kapi_twisted", "apis", "protobuf_fields.json.gz")
DEFINITIONS = os.path.join(HERE, "..", "kapi_twisted", "apis", "openapi_definitions.json.gz")

SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
           "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"}

# Go fields that are plain (non-pointer) ints/bools with omitempty: Go writes them to the
# wire even when zero, and JSON omits them when zero.  Optional int/bool fields not listed
# here (nor in a *Status message) are Go pointers, whose explicit zero JSON keeps
# (replicas: 0, automountServiceAccountToken: false).  Keys: "<package suffix>.<Message>.<field>".
NON_POINTER_ZEROS = {
    "meta.v1.ObjectMeta.generation", "meta.v1.Condition.observedGeneration",
    "meta.v1.ListOptions.watch", "meta.v1.ListOptions.allowWatchBookmarks",
    "meta.v1.ListOptions.limit",
    "core.v1.Container.stdin", "core.v1.Container.stdinOnce", "core.v1.Container.tty",
    "core.v1.EphemeralContainerCommon.stdin", "core.v1.EphemeralContainerCommon.stdinOnce",
    "core.v1.EphemeralContainerCommon.tty",
    "core.v1.ContainerPort.hostPort", "core.v1.ServicePort.nodePort",
    "core.v1.ServiceSpec.healthCheckNodePort", "core.v1.ServiceSpec.publishNotReadyAddresses",
    "core.v1.PodSpec.hostNetwork", "core.v1.PodSpec.hostPID", "core.v1.PodSpec.hostIPC",
    "core.v1.VolumeMount.readOnly",
    "core.v1.Probe.initialDelaySeconds", "core.v1.Probe.timeoutSeconds",
    "core.v1.Probe.periodSeconds", "core.v1.Probe.successThreshold",
    "core.v1.Probe.failureThreshold",
    "core.v1.ReplicationControllerSpec.minReadySeconds",
    "core.v1.Event.count", "core.v1.EventSeries.count", "core.v1.NodeSpec.unschedulable",
    "core.v1.ContainerStateTerminated.signal", "core.v1.ContainerImage.sizeBytes",
    "core.v1.PodCondition.observedGeneration",
    "core.v1.PodAttachOptions.stdin", "core.v1.PodAttachOptions.stdout",
    "core.v1.PodAttachOptions.stderr", "core.v1.PodAttachOptions.tty",
    "core.v1.PodExecOptions.stdin", "core.v1.PodExecOptions.stdout",
    "core.v1.PodExecOptions.stderr", "core.v1.PodExecOptions.tty",
    "core.v1.PodLogOptions.follow", "core.v1.PodLogOptions.previous",
    "core.v1.PodLogOptions.timestamps", "core.v1.PodLogOptions.insecureSkipTLSVerifyBackend",
    "core.v1.AWSElasticBlockStoreVolumeSource.partition",
    "core.v1.GCEPersistentDiskVolumeSource.partition",
    "core.v1.ISCSIVolumeSource.chapAuthDiscovery", "core.v1.ISCSIVolumeSource.chapAuthSession",
    "core.v1.ISCSIPersistentVolumeSource.chapAuthDiscovery",
    "core.v1.ISCSIPersistentVolumeSource.chapAuthSession",
    "core.v1.ScaleIOVolumeSource.sslEnabled", "core.v1.ScaleIOPersistentVolumeSource.sslEnabled",
    "apps.v1.DeploymentSpec.minReadySeconds", "apps.v1.DeploymentSpec.paused",
    "apps.v1.DaemonSetSpec.minReadySeconds", "apps.v1.ReplicaSetSpec.minReadySeconds",
    "apps.v1.StatefulSetSpec.minReadySeconds", "apps.v1.StatefulSetOrdinals.start",
    "autoscaling.v1.ScaleSpec.replicas", "networking.v1.ServiceBackendPort.number",
    "scheduling.v1.PriorityClass.globalDefault",
    "events.v1.Event.deprecatedCount",
    "flowcontrol.v1.FlowSchemaSpec.matchingPrecedence",
    "flowcontrol.v1.QueuingConfiguration.queues",
    "flowcontrol.v1.QueuingConfiguration.handSize",
    "flowcontrol.v1.QueuingConfiguration.queueLengthLimit",
    "flowcontrol.v1.ResourcePolicyRule.clusterScope",
    "resource.v1.DeviceSubRequest.count",
    "resource.v1.ExactDeviceRequest.count",
}
# Plain Go fields without omitempty that the OpenAPI does not mark required: JSON always
# writes them, zero or not.
ALWAYS_ZEROS = {
    "policy.v1.PodDisruptionBudgetStatus.disruptionsAllowed",
    "policy.v1.PodDisruptionBudgetStatus.currentHealthy",
    "policy.v1.PodDisruptionBudgetStatus.desiredHealthy",
    "policy.v1.PodDisruptionBudgetStatus.expectedPods",
    "authentication.v1.TokenRequestStatus.token",
}
# Volume sources' readOnly is a plain bool, except these two (*bool).
POINTER_READONLY = {"core.v1.AzureDiskVolumeSource", "core.v1.CSIVolumeSource"}
# Optional strings are plain Go strings (empty = absent) except where "" means something.
POINTER_STRINGS = {
    "core.v1.PersistentVolumeClaimSpec.storageClassName",
    "networking.v1.IngressSpec.ingressClassName",
}

_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"[^"]*"|[A-Za-z0-9_.]+|[{}<>;=,\[\]()]', re.S)


def parse_proto(text: str) -> Tuple[str, Dict[str, Dict[str, Any]]]:
    """(package, {message name: {"fields": [...], "wrapper": bool}}) of one file."""
    package = ""
    messages: Dict[str, Dict[str, Any]] = {}
    tokens = _TOKEN.findall(text)
    i = 0
    pending_comments: List[str] = []
    stack: List[str] = []
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("//") or tok.startswith("/*"):
            pending_comments.append(tok)
            i += 1
            continue
        if tok == "package":
            package = tokens[i + 1]
            i += 3
        elif tok in ("syntax", "import", "option"):
            while tokens[i] != ";":
                i += 1
            i += 1
        elif tok == "message":
            name = ".".join(stack + [tokens[i + 1]])
            nullable = any("+protobuf.nullable=true" in c for c in pending_comments)
            messages[name] = {"fields": [], "nullable": nullable}
            stack.append(tokens[i + 1])
            i += 3  # message NAME {
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok in ("optional", "repeated", "required"):
            ftype, fname, num = tokens[i + 1], tokens[i + 2], int(tokens[i + 4])
            messages[".".join(stack)]["fields"].append(
                (num, fname, ftype, "r" if tok == "repeated" else "o", None))
            i += 5
            while tokens[i] != ";":  # field options such as [packed = true]
                i += 1
            i += 1
        elif tok == "map":
            # map < K , V > name = N ;
            key, value, fname, num = tokens[i + 2], tokens[i + 4], tokens[i + 6], int(tokens[i + 8])
            if key != "string":
                raise SystemExit("unsupported map key type %s" % key)
            messages[".".join(stack)]["fields"].append((num, fname, value, "m", None))
            i += 10
        elif tok == ";":
            i += 1
        else:
            raise SystemExit("unexpected token %r in package %s" % (tok, package))
        if not (tok.startswith("//") or tok.startswith("/*")):
            pending_comments = []
    return package, messages


def _resolve(ftype: str, package: str, known: Dict[str, Any]) -> str:
    if ftype in SCALARS:
        return ftype
    if ftype.startswith("."):
        return ftype[1:]
    candidate = "%s.%s" % (package, ftype)
    if candidate in known:
        return candidate
    return ftype


def _short(full: str) -> str:
    """k8s.io.api.core.v1.Pod -> core.v1.Pod; k8s.io.apimachinery.pkg.apis.meta.v1.X -> meta.v1.X."""
    parts = full.split(".")
    return ".".join(parts[-3:])


def emit_zero(full_msg: str, field: str, ftype: str, required: bool) -> bool:
    """Whether a zero scalar read from the wire appears in the JSON form of the object."""
    key = "%s.%s" % (_short(full_msg), field)
    if required or key in ALWAYS_ZEROS:
        return True
    if ftype == "string":
        return key in POINTER_STRINGS
    if ftype == "bytes":
        return False
    if key in NON_POINTER_ZEROS:
        return False
    if field == "readOnly" and full_msg.endswith("VolumeSource") and \
            _short(full_msg) not in POINTER_READONLY:
        return False
    if full_msg.endswith("Status"):
        return False
    return True


def build(proto_dir: str) -> Dict[str, Any]:
    files: List[Tuple[str, Dict[str, Dict[str, Any]]]] = []
    for root, _, names in sorted(os.walk(proto_dir)):
        for name in sorted(names):
            if name == "generated.proto":
                with open(os.path.join(root, name)) as f:
                    files.append(parse_proto(f.read()))
    known: Dict[str, Dict[str, Any]] = {}
    for package, messages in files:
        for name, msg in messages.items():
            known["%s.%s" % (package, name)] = dict(msg, package=package)

    with gzip.open(DEFINITIONS, "rb") as f:
        definitions = json.loads(f.read())["definitions"]

    table: Dict[str, Any] = {}
    renamed: List[str] = []
    for full, msg in sorted(known.items()):
        defn = definitions.get("io.k8s." + full[len("k8s.io."):]) if full.startswith("k8s.io.") else None
        props = (defn or {}).get("properties", {})
        lowered = {p.lower(): p for p in props}
        required = set((defn or {}).get("required", ()))
        fields = []
        for num, fname, ftype, label, _ in msg["fields"]:
            rtype = _resolve(ftype, msg["package"], known)
            json_name = fname
            if props and fname not in props:
                if fname.lower() in lowered:
                    json_name = lowered[fname.lower()]
                    renamed.append("%s.%s -> %s" % (full, fname, json_name))
                elif rtype in known and label == "o":
                    json_name = ""  # an embedded struct whose fields JSON inlines
                    renamed.append("%s.%s -> (inline)" % (full, fname))
            ez = emit_zero(full, json_name, rtype, json_name in required) if rtype in SCALARS else True
            fields.append([num, json_name, rtype, label, 1 if ez else 0])
        entry: Dict[str, Any] = {"f": fields}
        if msg["nullable"] and len(fields) == 1 and fields[0][1] == "items" and fields[0][3] == "r":
            entry["w"] = 1  # a named slice: JSON is the bare list
        table[full] = entry

    kinds: Dict[str, str] = {}
    for name, schema in definitions.items():
        proto = "k8s.io." + name[len("io.k8s."):] if name.startswith("io.k8s.") else None
        if proto not in table:
            continue
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            key = "%s/%s/%s" % (gvk["group"], gvk["version"], gvk["kind"])
            kinds.setdefault(key, proto)
    # meta.k8s.io kinds have no OpenAPI group-version-kind; clients name them in envelopes
    # (the metadata client's PartialObjectMetadataList, DeleteOptions, Status...).
    for version in ("v1", "v1beta1"):
        package = "k8s.io.apimachinery.pkg.apis.meta.%s." % version
        for name in sorted(table):
            if name.startswith(package) and "." not in name[len(package):]:
                kinds.setdefault("meta.k8s.io/%s/%s" % (version, name[len(package):]), name)
    sys.stderr.write("renamed fields:\n  " + "\n  ".join(renamed) + "\n")
    return {
        "attribution": "Derived from the generated.proto files of Kubernetes (kubernetes/api, "
                       "kubernetes/apimachinery), Copyright The Kubernetes Authors, Apache "
                       "License 2.0.",
        "messages": table,
        "kinds": kinds,
    }


def main(argv: List[str]) -> None:
    proto_dir = argv[1] if len(argv) > 1 else DEFAULT_DIR
    data = build(proto_dir)
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(payload)
    with open(OUTPUT, "wb") as f:
        f.write(buf.getvalue())
    sys.stderr.write("%d messages, %d kinds, %d bytes gzip -> %s\n"
                     % (len(data["messages"]), len(data["kinds"]), len(buf.getvalue()), OUTPUT))


if __name__ == "__main__":
    main(sys.argv)
