"""
Table printers for configuration, identity and cluster objects: config
maps, secrets, service accounts, namespaces, quotas, nodes, events,
disruption budgets, autoscalers, priority classes, leases, RBAC bindings.

Rewritten from kube-apiserver's printers (kubernetes C{pkg/printers/internalversion})
over the JSON the server stores; every printer returns the full (wide) row.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from kapi_twisted.registry._table_format import (
    AGE,
    CORE,
    NAME,
    Clock,
    Column,
    Printer,
    age_of,
    as_int,
    dig,
    first_non_empty,
    int_or_string,
    name_of,
)

# -- configuration and identity ---------------------------------------------------------

CONFIGMAP_COLUMNS = [NAME, Column("Data", doc=(CORE + "ConfigMap", "data")), AGE]


def configmap_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [name_of(obj), count, age_of(obj, clock)]


SECRET_COLUMNS = [
    NAME,
    Column("Type", doc=(CORE + "Secret", "type")),
    Column("Data", doc=(CORE + "Secret", "data")),
    AGE,
]


def secret_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    count = len(obj.get("data") or {})
    return [name_of(obj), obj.get("type") or "Opaque", count, age_of(obj, clock)]


SERVICEACCOUNT_COLUMNS = [NAME, Column("Secrets", doc=(CORE + "ServiceAccount", "secrets")), AGE]


def serviceaccount_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), len(obj.get("secrets") or []), age_of(obj, clock)]


NAMESPACE_COLUMNS = [NAME, Column("Status", doc="The status of the namespace"), AGE]


def namespace_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), dig(obj, "status", "phase", default=""), age_of(obj, clock)]


RESOURCEQUOTA_COLUMNS = [
    NAME,
    Column("Request", doc="Request represents a minimum amount of cpu/memory that a container may consume."),
    Column(
        "Limit",
        doc="Limits control the maximum amount of cpu/memory that a container may use independent "
        "of contention on the node.",
    ),
    AGE,
]


def resourcequota_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    hard = dig(obj, "status", "hard", default={})
    used = dig(obj, "status", "used", default={})
    requests: List[str] = []
    limits: List[str] = []
    for resource in sorted(hard):
        target = limits if resource.split(".")[0] == "limits" and "." in resource else requests
        target.append(f"{resource}: {used.get(resource, '0')}/{hard[resource]}")
    return [name_of(obj), ", ".join(requests), ", ".join(limits), age_of(obj, clock)]



# -- nodes and events --------------------------------------------------------------------

NODE_COLUMNS = [
    NAME,
    Column("Status", doc="The status of the node"),
    Column("Roles", doc="The roles of the node"),
    AGE,
    Column("Version", doc=(CORE + "NodeSystemInfo", "kubeletVersion")),
    Column("Internal-IP", doc=(CORE + "NodeStatus", "addresses"), priority=1),
    Column("External-IP", doc=(CORE + "NodeStatus", "addresses"), priority=1),
    Column("OS-Image", doc=(CORE + "NodeSystemInfo", "osImage"), priority=1),
    Column("Kernel-Version", doc=(CORE + "NodeSystemInfo", "kernelVersion"), priority=1),
    Column("Container-Runtime", doc=(CORE + "NodeSystemInfo", "containerRuntimeVersion"), priority=1),
]


def _node_address(node: Dict[str, Any], kind: str) -> str:
    for address in dig(node, "status", "addresses", default=[]):
        if address.get("type") == kind:
            return address.get("address", "")
    return "<none>"


def node_cells(node: Dict[str, Any], clock: Clock) -> List[Any]:
    states: List[str] = []
    for condition in dig(node, "status", "conditions", default=[]):
        if condition.get("type") == "Ready":
            states = ["Ready" if condition.get("status") == "True" else "NotReady"]
    if not states:
        states = ["Unknown"]
    if dig(node, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for key, value in (dig(node, "metadata", "labels", default={})).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    info = dig(node, "status", "nodeInfo", default={})
    return [
        name_of(node),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        age_of(node, clock),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


EVENT_COLUMNS = [
    Column("Last Seen", doc=(CORE + "Event", "lastTimestamp")),
    Column("Type", doc=(CORE + "Event", "type")),
    Column("Reason", doc=(CORE + "Event", "reason")),
    Column("Object", doc=(CORE + "Event", "involvedObject")),
    Column("Subobject", doc=(CORE + "ObjectReference", "fieldPath"), priority=1),
    Column("Source", doc=(CORE + "Event", "source"), priority=1),
    Column("Message", doc=(CORE + "Event", "message")),
    Column("First Seen", doc=(CORE + "Event", "firstTimestamp"), priority=1),
    Column("Count", doc=(CORE + "Event", "count"), priority=1),
    Column("Name", doc=NAME.doc, priority=1, format="name"),
]


def event_cells(event: Dict[str, Any], clock: Clock) -> List[Any]:
    """A core/v1 Event (events.k8s.io/v1 ones go through L{core_event} first)."""
    first = clock.since(event.get("firstTimestamp")) if event.get("firstTimestamp") else clock.since(
        event.get("eventTime")
    )
    last = clock.since(event.get("lastTimestamp")) if event.get("lastTimestamp") else first
    count = as_int(event.get("count"))
    series = event.get("series")
    if series:
        last = clock.since(series.get("lastObservedTime"))
        count = as_int(series.get("count"))
    elif count == 0:
        count = 1
    involved = event.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = first_non_empty(source.get("component"), event.get("reportingComponent"))
    host = first_non_empty(source.get("host"), event.get("reportingInstance"))
    return [
        last,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {host}" if host else component,
        (event.get("message") or "").strip(),
        first,
        count,
        name_of(event),
    ]


def core_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """An events.k8s.io/v1 Event in core/v1 field names (as the internal type sees it)."""
    source = event.get("deprecatedSource") or {}
    return {
        "metadata": event.get("metadata") or {},
        "involvedObject": event.get("regarding") or {},
        "reason": event.get("reason", ""),
        "message": event.get("note", ""),
        "type": event.get("type", ""),
        "firstTimestamp": event.get("deprecatedFirstTimestamp"),
        "lastTimestamp": event.get("deprecatedLastTimestamp"),
        "count": event.get("deprecatedCount"),
        "eventTime": event.get("eventTime"),
        "series": event.get("series"),
        "source": source,
        "reportingComponent": event.get("reportingController", ""),
        "reportingInstance": event.get("reportingInstance", ""),
    }


def events_k8s_io_cells(event: Dict[str, Any], clock: Clock) -> List[Any]:
    return event_cells(core_event(event), clock)



# -- policy, autoscaling, scheduling, coordination, rbac ---------------------------------

PDB_COLUMNS = [
    NAME,
    Column("Min Available", doc="The minimum number of pods that must be available."),
    Column("Max Unavailable", doc="The maximum number of pods that may be unavailable."),
    Column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    AGE,
]


def pdb_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    low = spec.get("minAvailable")
    high = spec.get("maxUnavailable")
    return [
        name_of(obj),
        int_or_string(low) if low is not None else "N/A",
        int_or_string(high) if high is not None else "N/A",
        as_int(dig(obj, "status", "disruptionsAllowed")),
        age_of(obj, clock),
    ]


HPA = "io.k8s.api.autoscaling.v2."
HPA_COLUMNS = [
    NAME,
    Column("Reference", doc=(HPA + "HorizontalPodAutoscalerSpec", "scaleTargetRef")),
    Column("Targets", doc=(HPA + "HorizontalPodAutoscalerSpec", "metrics")),
    Column("MinPods", doc=(HPA + "HorizontalPodAutoscalerSpec", "minReplicas")),
    Column("MaxPods", doc=(HPA + "HorizontalPodAutoscalerSpec", "maxReplicas")),
    Column("Replicas", doc=(HPA + "HorizontalPodAutoscalerStatus", "currentReplicas")),
    AGE,
]


def _hpa_metrics(spec: Dict[str, Any], status: Dict[str, Any]) -> Tuple[list, list]:
    """The v2 metric lists, also for an autoscaling/v1 object (its CPU target)."""
    if "metrics" in spec or "targetCPUUtilizationPercentage" not in spec:
        return spec.get("metrics") or [], status.get("currentMetrics") or []
    metric = {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]}}}
    current = []
    if status.get("currentCPUUtilizationPercentage") is not None:
        current = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    return [metric], current


def _format_metric(spec: Dict[str, Any], status: Optional[Dict[str, Any]]) -> str:
    kind = spec.get("type")
    if kind == "External":
        target = dig(spec, "external", "target", default={})
        current = dig(status, "external", "current", default={}) if status else None
        if target.get("averageValue") is not None:
            now = current.get("averageValue") if current and current.get("averageValue") is not None else None
            return f"{now if now is not None else '<unknown>'}/{target['averageValue']} (avg)"
        now = current.get("value") if current else None
        return f"{now if now is not None else '<unknown>'}/{target.get('value', '<nil>')}"
    if kind == "Pods":
        target = dig(spec, "pods", "target", default={})
        now = dig(status, "pods", "current", "averageValue") if status else None
        return f"{now if now is not None else '<unknown>'}/{target.get('averageValue', '<nil>')}"
    if kind == "Object":
        target = dig(spec, "object", "target", default={})
        current = dig(status, "object", "current", default={}) if status else None
        if target.get("averageValue") is not None:
            now = current.get("averageValue") if current else None
            return f"{now if now is not None else '<unknown>'}/{target['averageValue']} (avg)"
        now = current.get("value") if current else None
        return f"{now if now is not None else '<unknown>'}/{target.get('value', '<nil>')}"
    if kind in ("Resource", "ContainerResource"):
        field = "resource" if kind == "Resource" else "containerResource"
        source = spec.get(field) or {}
        target = source.get("target") or {}
        current = dig(status, field, "current", default={}) if status else {}
        if target.get("averageValue") is not None:
            now = current.get("averageValue") if status and dig(status, field) else None
            return f"{source.get('name', '')}: {now if now is not None else '<unknown>'}/{target['averageValue']}"
        now = current.get("averageUtilization")
        now_text = f"{now}%" if now is not None else "<unknown>"
        goal = target.get("averageUtilization")
        goal_text = f"{goal}%" if goal is not None else "<auto>"
        return f"{source.get('name', '')}: {now_text}/{goal_text}"
    return "<unknown type>"


def hpa_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    status = dig(obj, "status", default={})
    metrics, current = _hpa_metrics(spec, status)
    if not metrics:
        targets = "<none>"
    else:
        texts = [_format_metric(m, current[i] if i < len(current) else None) for i, m in enumerate(metrics)]
        targets = ", ".join(texts[:2])
        if len(texts) > 2:
            targets += f" + {len(texts) - 2} more..."
    ref = spec.get("scaleTargetRef") or {}
    min_pods = spec.get("minReplicas")
    return [
        name_of(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets,
        str(as_int(min_pods)) if min_pods is not None else "<unset>",
        as_int(spec.get("maxReplicas")),
        as_int(status.get("currentReplicas")),
        age_of(obj, clock),
    ]


PRIORITYCLASS_COLUMNS = [
    NAME,
    Column("Value", "integer", ("io.k8s.api.scheduling.v1.PriorityClass", "value")),
    Column("Global-Default", "boolean", ("io.k8s.api.scheduling.v1.PriorityClass", "globalDefault")),
    AGE,
    Column("PreemptionPolicy", doc=("io.k8s.api.scheduling.v1.PriorityClass", "preemptionPolicy")),
]


def priorityclass_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [
        name_of(obj),
        as_int(obj.get("value")),
        bool(obj.get("globalDefault")),
        age_of(obj, clock),
        obj.get("preemptionPolicy") or "",
    ]


LEASE_COLUMNS = [
    NAME,
    Column("Holder", doc=("io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity")),
    AGE,
]


def lease_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), dig(obj, "spec", "holderIdentity", default=""), age_of(obj, clock)]


def _binding_columns(kind: str) -> List[Column]:
    return [
        NAME,
        Column("Role", doc=("io.k8s.api.rbac.v1." + kind, "roleRef")),
        AGE,
        Column("Users", doc=f"Users in the {kind[0].lower() + kind[1:]}", priority=1),
        Column("Groups", doc=f"Groups in the {kind[0].lower() + kind[1:]}", priority=1),
        Column("ServiceAccounts", doc=f"ServiceAccounts in the {kind[0].lower() + kind[1:]}", priority=1),
    ]


ROLEBINDING_COLUMNS = _binding_columns("RoleBinding")
CLUSTERROLEBINDING_COLUMNS = _binding_columns("ClusterRoleBinding")


def binding_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    ref = obj.get("roleRef") or {}
    users, groups, accounts = [], [], []
    for subject in obj.get("subjects") or []:
        kind = subject.get("kind")
        if kind == "User":
            users.append(subject.get("name", ""))
        elif kind == "Group":
            groups.append(subject.get("name", ""))
        elif kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}:{subject.get('name', '')}")
    return [
        name_of(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age_of(obj, clock),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(accounts),
    ]


PRINTERS: Dict[Tuple[str, str], Printer] = {
    ("", "nodes"): (NODE_COLUMNS, node_cells, None),
    ("", "events"): (EVENT_COLUMNS, event_cells, None),
    ("", "namespaces"): (NAMESPACE_COLUMNS, namespace_cells, None),
    ("", "secrets"): (SECRET_COLUMNS, secret_cells, None),
    ("", "serviceaccounts"): (SERVICEACCOUNT_COLUMNS, serviceaccount_cells, None),
    ("", "configmaps"): (CONFIGMAP_COLUMNS, configmap_cells, None),
    ("", "resourcequotas"): (RESOURCEQUOTA_COLUMNS, resourcequota_cells, None),
    ("autoscaling", "horizontalpodautoscalers"): (HPA_COLUMNS, hpa_cells, None),
    ("policy", "poddisruptionbudgets"): (PDB_COLUMNS, pdb_cells, None),
    ("events.k8s.io", "events"): (EVENT_COLUMNS, events_k8s_io_cells, None),
    ("scheduling.k8s.io", "priorityclasses"): (PRIORITYCLASS_COLUMNS, priorityclass_cells, None),
    ("coordination.k8s.io", "leases"): (LEASE_COLUMNS, lease_cells, None),
    ("rbac.authorization.k8s.io", "rolebindings"): (ROLEBINDING_COLUMNS, binding_cells, None),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): (CLUSTERROLEBINDING_COLUMNS, binding_cells, None),
}
