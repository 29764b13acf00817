"""
The columns and cells kube-apiserver prints for each built-in type
(kubernetes C{pkg/printers/internalversion}), rewritten over the JSON the
server stores.

kube-apiserver always generates rows in wide form; kubectl drops the
C{priority > 0} columns unless asked for C{-o wide}. Each printer here takes
the object dict and a L{Clock} and returns the full row of cells.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from kapi_twisted.registry._table_format import (
    AGE,
    CONTAINERS,
    CORE,
    IMAGES,
    NAME,
    Clock,
    Column,
    as_int,
    bool_ptr,
    container_cells,
    dig,
    first_non_empty,
    format_labels,
    format_selector,
    human_duration,
    int_or_string,
    list_with_more,
    parse_time,
    selector_string,
)

Cells = Callable[[Dict[str, Any], Clock], List[Any]]
Conditions = Callable[[Dict[str, Any]], Optional[List[Dict[str, str]]]]

APPS = "io.k8s.api.apps.v1."
BATCH = "io.k8s.api.batch.v1."


def _name(obj: Dict[str, Any]) -> str:
    return dig(obj, "metadata", "name", default="")


def _age(obj: Dict[str, Any], clock: Clock) -> str:
    return clock.since(dig(obj, "metadata", "creationTimestamp"))


def _deleting(obj: Dict[str, Any]) -> bool:
    return bool(dig(obj, "metadata", "deletionTimestamp"))


# -- pods ---------------------------------------------------------------------------

POD_COLUMNS = [
    NAME,
    Column("Ready", doc="The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", doc="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        doc="The number of times the containers in this pod have been restarted and when the "
        "last container in this pod has restarted.",
    ),
    AGE,
    Column("IP", doc=(CORE + "PodStatus", "podIP"), priority=1),
    Column("Node", doc=(CORE + "PodSpec", "nodeName"), priority=1),
    Column("Nominated Node", doc=(CORE + "PodStatus", "nominatedNodeName"), priority=1),
    Column("Readiness Gates", doc=(CORE + "PodSpec", "readinessGates"), priority=1),
]


def _restartable(container: Optional[Dict[str, Any]]) -> bool:
    """An init container with C{restartPolicy: Always} (a sidecar)."""
    return bool(container) and container.get("restartPolicy") == "Always"


def _condition_true(conditions: Sequence[Dict[str, Any]], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _later(current: Optional[float], candidate: Any) -> Optional[float]:
    seconds = parse_time(candidate)
    if seconds is None:
        return current
    return seconds if current is None or seconds > current else current


def pod_cells(pod: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(pod, "spec", default={})
    status = dig(pod, "status", default={})
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or [] if isinstance(c, dict)}

    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: Optional[float] = None
    last_sidecar_restart: Optional[float] = None

    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for condition in conditions:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    init_statuses = [s for s in status.get("initContainerStatuses") or [] if isinstance(s, dict)]
    for index, container in enumerate(init_statuses):
        restarts += as_int(container.get("restartCount"))
        finished = dig(container, "lastState", "terminated", "finishedAt")
        last_restart = _later(last_restart, finished)
        sidecar = _restartable(init_specs.get(container.get("name")))
        if sidecar:
            sidecar_restarts += as_int(container.get("restartCount"))
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        terminated = dig(container, "state", "terminated")
        waiting = dig(container, "state", "waiting")
        if terminated is not None and as_int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and container.get("started"):
            if container.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                if as_int(terminated.get("signal")):
                    reason = f"Init:Signal:{as_int(terminated.get('signal'))}"
                else:
                    reason = f"Init:ExitCode:{as_int(terminated.get('exitCode'))}"
            else:
                reason = "Init:" + terminated["reason"]
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        statuses = [s for s in status.get("containerStatuses") or [] if isinstance(s, dict)]
        for container in reversed(statuses):
            restarts += as_int(container.get("restartCount"))
            last_restart = _later(last_restart, dig(container, "lastState", "terminated", "finishedAt"))
            waiting = dig(container, "state", "waiting")
            terminated = dig(container, "state", "terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if as_int(terminated.get("signal")):
                    reason = f"Signal:{as_int(terminated.get('signal'))}"
                else:
                    reason = f"ExitCode:{as_int(terminated.get('exitCode'))}"
            elif container.get("ready") and dig(container, "state", "running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"

    if _deleting(pod) and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif _deleting(pod) and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(clock.now() - last_restart)} ago)"

    ips = [p.get("ip") for p in status.get("podIPs") or [] if isinstance(p, dict)]
    pod_ip = (ips[0] if ips else "") or status.get("podIP") or "<none>"
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        passing = 0
        for gate in gates:
            for condition in conditions:
                if condition.get("type") == gate.get("conditionType"):
                    passing += condition.get("status") == "True"
                    break
        gates_text = f"{passing}/{len(gates)}"
    return [
        _name(pod),
        f"{ready}/{total}",
        reason,
        restarts_text,
        _age(pod, clock),
        pod_ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_text,
    ]


def pod_conditions(pod: Dict[str, Any]) -> Optional[List[Dict[str, str]]]:
    phase = dig(pod, "status", "phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return None


# -- workloads ----------------------------------------------------------------------

DEPLOYMENT_COLUMNS = [
    NAME,
    Column("Ready", doc="Number of the pod with ready state"),
    Column("Up-to-date", doc=(APPS + "DeploymentStatus", "updatedReplicas")),
    Column("Available", doc=(APPS + "DeploymentStatus", "availableReplicas")),
    AGE,
    CONTAINERS,
    IMAGES,
    Column("Selector", doc=(APPS + "DeploymentSpec", "selector"), priority=1),
]


def _replicas(obj: Dict[str, Any]) -> int:
    return as_int(dig(obj, "spec", "replicas", default=1), 1)


def _template_containers(obj: Dict[str, Any], *path: str) -> Tuple[str, str]:
    return container_cells(dig(obj, *path, "containers", default=[]))


def deployment_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    status = dig(obj, "status", default={})
    try:
        selector = selector_string(dig(obj, "spec", "selector"))
    except ValueError:
        selector = "<invalid>"
    names, images = _template_containers(obj, "spec", "template", "spec")
    return [
        _name(obj),
        f"{as_int(status.get('readyReplicas'))}/{_replicas(obj)}",
        as_int(status.get("updatedReplicas")),
        as_int(status.get("availableReplicas")),
        _age(obj, clock),
        names,
        images,
        selector,
    ]


def _replica_columns(spec_def: str, status_def: str) -> List[Column]:
    return [
        NAME,
        Column("Desired", "integer", (spec_def, "replicas")),
        Column("Current", "integer", (status_def, "replicas")),
        Column("Ready", "integer", (status_def, "readyReplicas")),
        AGE,
        CONTAINERS,
        IMAGES,
        Column("Selector", doc=(spec_def, "selector"), priority=1),
    ]


REPLICASET_COLUMNS = _replica_columns(APPS + "ReplicaSetSpec", APPS + "ReplicaSetStatus")
RC_COLUMNS = _replica_columns(CORE + "ReplicationControllerSpec", CORE + "ReplicationControllerStatus")


def replicaset_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    status = dig(obj, "status", default={})
    names, images = _template_containers(obj, "spec", "template", "spec")
    return [
        _name(obj),
        _replicas(obj),
        as_int(status.get("replicas")),
        as_int(status.get("readyReplicas")),
        _age(obj, clock),
        names,
        images,
        format_selector(dig(obj, "spec", "selector")),
    ]


def rc_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    status = dig(obj, "status", default={})
    names, images = _template_containers(obj, "spec", "template", "spec")
    return [
        _name(obj),
        _replicas(obj),
        as_int(status.get("replicas")),
        as_int(status.get("readyReplicas")),
        _age(obj, clock),
        names,
        images,
        format_labels(dig(obj, "spec", "selector")),
    ]


STATEFULSET_COLUMNS = [
    NAME,
    Column("Ready", doc="Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
]


def statefulset_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    names, images = _template_containers(obj, "spec", "template", "spec")
    ready = as_int(dig(obj, "status", "readyReplicas"))
    return [_name(obj), f"{ready}/{_replicas(obj)}", _age(obj, clock), names, images]


DAEMONSET_COLUMNS = [
    NAME,
    Column("Desired", "integer", (APPS + "DaemonSetStatus", "desiredNumberScheduled")),
    Column("Current", "integer", (APPS + "DaemonSetStatus", "currentNumberScheduled")),
    Column("Ready", "integer", (APPS + "DaemonSetStatus", "numberReady")),
    Column("Up-to-date", "integer", (APPS + "DaemonSetStatus", "updatedNumberScheduled")),
    Column("Available", "integer", (APPS + "DaemonSetStatus", "numberAvailable")),
    Column("Node Selector", doc=(CORE + "PodSpec", "nodeSelector")),
    AGE,
    CONTAINERS,
    IMAGES,
    Column("Selector", doc=(APPS + "DaemonSetSpec", "selector"), priority=1),
]


def daemonset_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    status = dig(obj, "status", default={})
    names, images = _template_containers(obj, "spec", "template", "spec")
    return [
        _name(obj),
        as_int(status.get("desiredNumberScheduled")),
        as_int(status.get("currentNumberScheduled")),
        as_int(status.get("numberReady")),
        as_int(status.get("updatedNumberScheduled")),
        as_int(status.get("numberAvailable")),
        format_labels(dig(obj, "spec", "template", "spec", "nodeSelector")),
        _age(obj, clock),
        names,
        images,
        format_selector(dig(obj, "spec", "selector")),
    ]


JOB_COLUMNS = [
    NAME,
    Column("Status", doc="Status of the job."),
    Column("Completions", doc=(BATCH + "JobStatus", "succeeded")),
    Column("Duration", doc="Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    Column("Selector", doc=(BATCH + "JobSpec", "selector"), priority=1),
]


def _job_condition(conditions: Sequence[Dict[str, Any]], kind: str) -> bool:
    for condition in conditions:
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def job_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    status = dig(obj, "status", default={})
    succeeded = as_int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{as_int(spec.get('completions'))}"
    elif as_int(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {as_int(spec.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    if not status.get("startTime"):
        duration = ""
    elif not status.get("completionTime"):
        duration = clock.since(status.get("startTime"))
    else:
        duration = clock.between(status.get("startTime"), status.get("completionTime"))
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    if _job_condition(conditions, "Complete"):
        state = "Complete"
    elif _job_condition(conditions, "Failed"):
        state = "Failed"
    elif _deleting(obj):
        state = "Terminating"
    elif _job_condition(conditions, "Suspended"):
        state = "Suspended"
    elif _job_condition(conditions, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _template_containers(obj, "spec", "template", "spec")
    return [
        _name(obj),
        state,
        completions,
        duration,
        _age(obj, clock),
        names,
        images,
        format_selector(spec.get("selector")),
    ]


CRONJOB_COLUMNS = [
    NAME,
    Column("Schedule", doc=(BATCH + "CronJobSpec", "schedule")),
    Column("Timezone", doc=(BATCH + "CronJobSpec", "timeZone")),
    Column("Suspend", "boolean", (BATCH + "CronJobSpec", "suspend")),
    Column("Active", "integer", (BATCH + "CronJobStatus", "active")),
    Column("Last Schedule", doc=(BATCH + "CronJobStatus", "lastScheduleTime")),
    AGE,
    CONTAINERS,
    IMAGES,
    Column("Selector", doc=(BATCH + "JobSpec", "selector"), priority=1),
]


def cronjob_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    last = dig(obj, "status", "lastScheduleTime")
    names, images = _template_containers(obj, "spec", "jobTemplate", "spec", "template", "spec")
    return [
        _name(obj),
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        bool_ptr(spec.get("suspend")),
        len(dig(obj, "status", "active", default=[])),
        clock.since(last) if last else "<none>",
        _age(obj, clock),
        names,
        images,
        format_selector(dig(spec, "jobTemplate", "spec", "selector")),
    ]


# -- services and networking -----------------------------------------------------------

SERVICE_COLUMNS = [
    NAME,
    Column("Type", doc=(CORE + "ServiceSpec", "type")),
    Column("Cluster-IP", doc=(CORE + "ServiceSpec", "clusterIP")),
    Column("External-IP", doc=(CORE + "ServiceSpec", "externalIPs")),
    Column("Port(s)", doc=(CORE + "ServiceSpec", "ports")),
    AGE,
    Column("Selector", doc=(CORE + "ServiceSpec", "selector"), priority=1),
]


def _load_balancer(ingress: Sequence[Dict[str, Any]]) -> str:
    found = set()
    for entry in ingress or []:
        if entry.get("ip"):
            found.add(entry["ip"])
        elif entry.get("hostname"):
            found.add(entry["hostname"])
    return ",".join(sorted(found))


def _external_ip(svc: Dict[str, Any]) -> str:
    spec = dig(svc, "spec", default={})
    kind = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        lb = _load_balancer(dig(svc, "status", "loadBalancer", "ingress", default=[]))
        if external:
            return ",".join(([lb] if lb else []) + list(external))
        return lb or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_cells(svc: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(svc, "spec", default={})
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if as_int(port.get("nodePort")) > 0:
            ports.append(f"{as_int(port.get('port'))}:{as_int(port.get('nodePort'))}/{protocol}")
        else:
            ports.append(f"{as_int(port.get('port'))}/{protocol}")
    return [
        _name(svc),
        spec.get("type") or "ClusterIP",
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(svc),
        ",".join(ports) or "<none>",
        _age(svc, clock),
        format_labels(spec.get("selector")),
    ]


ENDPOINTS_COLUMNS = [NAME, Column("Endpoints", doc=(CORE + "Endpoints", "subsets")), AGE]


def endpoints_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    subsets = obj.get("subsets") or []
    if not subsets:
        return [_name(obj), "<none>", _age(obj, clock)]
    shown: List[str] = []
    total = 0
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        if not ports:
            total += len(addresses)
            shown += addresses[: max(0, 3 - len(shown))]
            continue
        for port in ports:
            total += len(addresses)
            for ip in addresses:
                if len(shown) < 3:
                    host = f"[{ip}]" if ":" in ip else ip
                    shown.append(f"{host}:{as_int(port.get('port'))}")
    return [_name(obj), list_with_more(shown, total, 3, ""), _age(obj, clock)]


INGRESS_COLUMNS = [
    NAME,
    Column("Class", doc="The name of the IngressClass resource that should be used for additional configuration"),
    Column("Hosts", doc="Hosts that incoming requests are matched against before the ingress rule"),
    Column("Address", doc="Address is a list containing ingress points for the load-balancer"),
    Column("Ports", doc="Ports of TLS configurations that open"),
    AGE,
]


def ingress_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    rules = spec.get("rules") or []
    hosts: List[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        hosts_text = "*"
    elif more:
        hosts_text = f"{','.join(hosts)} + {len(rules) - 3} more..."
    else:
        hosts_text = ",".join(hosts)
    return [
        _name(obj),
        spec.get("ingressClassName") or "<none>",
        hosts_text,
        _load_balancer(dig(obj, "status", "loadBalancer", "ingress", default=[])),
        "80, 443" if spec.get("tls") else "80",
        _age(obj, clock),
    ]


INGRESSCLASS_COLUMNS = [
    NAME,
    Column("Controller", doc="Controller that is responsible for handling this class"),
    Column("Parameters", doc="A reference to a resource with additional parameters"),
    AGE,
]


def ingressclass_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    params = dig(obj, "spec", "parameters")
    text = "<none>"
    if params:
        text = params.get("kind", "")
        if params.get("apiGroup"):
            text += "." + params["apiGroup"]
        text += "/" + params.get("name", "")
    return [_name(obj), dig(obj, "spec", "controller", default=""), text, _age(obj, clock)]


NETWORKPOLICY_COLUMNS = [
    NAME,
    Column("Pod-Selector", doc=("io.k8s.api.networking.v1.NetworkPolicySpec", "podSelector")),
    AGE,
]


def networkpolicy_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [_name(obj), format_selector(dig(obj, "spec", "podSelector", default={})), _age(obj, clock)]


ENDPOINTSLICE_COLUMNS = [
    NAME,
    Column("AddressType", doc=("io.k8s.api.discovery.v1.EndpointSlice", "addressType")),
    Column("Ports", doc=("io.k8s.api.discovery.v1.EndpointSlice", "ports")),
    Column("Endpoints", doc=("io.k8s.api.discovery.v1.EndpointSlice", "endpoints")),
    AGE,
]


def endpointslice_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    ports = []
    for port in obj.get("ports") or []:
        if port.get("port") is not None:
            ports.append(str(as_int(port.get("port"))))
        elif port.get("name") is not None:
            ports.append(port["name"])
        else:
            ports.append("*")
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        _name(obj),
        obj.get("addressType", ""),
        list_with_more(ports, len(ports), 3, "<unset>"),
        list_with_more(addresses, len(addresses), 3, "<unset>"),
        _age(obj, clock),
    ]


# -- configuration and identity ---------------------------------------------------------

CONFIGMAP_COLUMNS = [NAME, Column("Data", doc=(CORE + "ConfigMap", "data")), AGE]


def configmap_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), count, _age(obj, clock)]


SECRET_COLUMNS = [
    NAME,
    Column("Type", doc=(CORE + "Secret", "type")),
    Column("Data", doc=(CORE + "Secret", "data")),
    AGE,
]


def secret_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    count = len(obj.get("data") or {})
    return [_name(obj), obj.get("type") or "Opaque", count, _age(obj, clock)]


SERVICEACCOUNT_COLUMNS = [NAME, Column("Secrets", doc=(CORE + "ServiceAccount", "secrets")), AGE]


def serviceaccount_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, clock)]


NAMESPACE_COLUMNS = [NAME, Column("Status", doc="The status of the namespace"), AGE]


def namespace_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [_name(obj), dig(obj, "status", "phase", default=""), _age(obj, clock)]


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
    return [_name(obj), ", ".join(requests), ", ".join(limits), _age(obj, clock)]


PODTEMPLATE_COLUMNS = [
    NAME,
    Column("Containers", doc="Names of each container in the template."),
    Column("Images", doc="Images referenced by each container in the template."),
    Column("Pod Labels", doc="The labels for the pod template."),
]


def podtemplate_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    names, images = _template_containers(obj, "template", "spec")
    return [_name(obj), names, images, format_labels(dig(obj, "template", "metadata", "labels"))]


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
        _name(node),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        _age(node, clock),
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
        _name(event),
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


# -- storage -------------------------------------------------------------------------

PV_COLUMNS = [
    NAME,
    Column("Capacity", doc=(CORE + "PersistentVolumeSpec", "capacity")),
    Column("Access Modes", doc=(CORE + "PersistentVolumeSpec", "accessModes")),
    Column("Reclaim Policy", doc=(CORE + "PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
    Column("Status", doc=(CORE + "PersistentVolumeStatus", "phase")),
    Column("Claim", doc=(CORE + "PersistentVolumeSpec", "claimRef")),
    Column("StorageClass", doc="StorageClass of the pv"),
    Column("VolumeAttributesClass", doc="VolumeAttributesClass of the pv"),
    Column("Reason", doc=(CORE + "PersistentVolumeStatus", "reason")),
    AGE,
    Column("VolumeMode", doc=(CORE + "PersistentVolumeSpec", "volumeMode"), priority=1),
]

_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


def access_modes(modes: Sequence[str]) -> str:
    """C{GetAccessModesAsString}: RWO, ROX, RWX, RWOP in that order."""
    short = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP")]
    return ",".join(abbrev for mode, abbrev in short if mode in (modes or []))


def pv_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    claim = spec.get("claimRef")
    annotations = dig(obj, "metadata", "annotations", default={})
    storage_class = annotations.get(_BETA_STORAGE_CLASS, spec.get("storageClassName") or "")
    phase = "Terminating" if _deleting(obj) else dig(obj, "status", "phase", default="")
    return [
        _name(obj),
        str(dig(spec, "capacity", "storage", default="0")),
        access_modes(spec.get("accessModes") or []),
        spec.get("persistentVolumeReclaimPolicy", ""),
        phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        storage_class,
        spec.get("volumeAttributesClassName") or "<unset>",
        dig(obj, "status", "reason", default=""),
        _age(obj, clock),
        spec.get("volumeMode") or "<unset>",
    ]


PVC_COLUMNS = [
    NAME,
    Column("Status", doc=(CORE + "PersistentVolumeClaimStatus", "phase")),
    Column("Volume", doc=(CORE + "PersistentVolumeClaimSpec", "volumeName")),
    Column("Capacity", doc=(CORE + "PersistentVolumeClaimStatus", "capacity")),
    Column("Access Modes", doc=(CORE + "PersistentVolumeClaimStatus", "accessModes")),
    Column("StorageClass", doc="StorageClass of the pvc"),
    Column("VolumeAttributesClass", doc="VolumeAttributesClass of the pvc"),
    AGE,
    Column("VolumeMode", doc=(CORE + "PersistentVolumeClaimSpec", "volumeMode"), priority=1),
]


def pvc_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    status = dig(obj, "status", default={})
    annotations = dig(obj, "metadata", "annotations", default={})
    if _BETA_STORAGE_CLASS in annotations:
        storage_class = annotations[_BETA_STORAGE_CLASS]
    else:
        storage_class = spec.get("storageClassName") or ""
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes") or [])
        capacity = str(dig(status, "capacity", "storage", default="0"))
    return [
        _name(obj),
        "Terminating" if _deleting(obj) else status.get("phase", ""),
        spec.get("volumeName", ""),
        capacity,
        modes,
        storage_class,
        spec.get("volumeAttributesClassName") or "<unset>",
        _age(obj, clock),
        spec.get("volumeMode") or "<unset>",
    ]


STORAGECLASS_COLUMNS = [
    NAME,
    Column("Provisioner", doc=("io.k8s.api.storage.v1.StorageClass", "provisioner")),
    Column("ReclaimPolicy", doc=("io.k8s.api.storage.v1.StorageClass", "reclaimPolicy")),
    Column("VolumeBindingMode", doc=("io.k8s.api.storage.v1.StorageClass", "volumeBindingMode")),
    Column("AllowVolumeExpansion", doc=("io.k8s.api.storage.v1.StorageClass", "allowVolumeExpansion")),
    AGE,
]


def storageclass_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    annotations = dig(obj, "metadata", "annotations", default={})
    name = _name(obj)
    if "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    ):
        name += " (default)"
    return [
        name,
        obj.get("provisioner", ""),
        obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate",
        bool(obj.get("allowVolumeExpansion")),
        _age(obj, clock),
    ]


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
        _name(obj),
        int_or_string(low) if low is not None else "N/A",
        int_or_string(high) if high is not None else "N/A",
        as_int(dig(obj, "status", "disruptionsAllowed")),
        _age(obj, clock),
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
        return f"{now if now is not None else '<unknown>'}/{target.get('value')}"
    if kind == "Pods":
        target = dig(spec, "pods", "target", default={})
        now = dig(status, "pods", "current", "averageValue") if status else None
        return f"{now if now is not None else '<unknown>'}/{target.get('averageValue')}"
    if kind == "Object":
        target = dig(spec, "object", "target", default={})
        current = dig(status, "object", "current", default={}) if status else None
        if target.get("averageValue") is not None:
            now = current.get("averageValue") if current else None
            return f"{now if now is not None else '<unknown>'}/{target['averageValue']} (avg)"
        now = current.get("value") if current else None
        return f"{now if now is not None else '<unknown>'}/{target.get('value')}"
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
        _name(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets,
        str(as_int(min_pods)) if min_pods is not None else "<unset>",
        as_int(spec.get("maxReplicas")),
        as_int(status.get("currentReplicas")),
        _age(obj, clock),
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
        _name(obj),
        as_int(obj.get("value")),
        bool(obj.get("globalDefault")),
        _age(obj, clock),
        obj.get("preemptionPolicy") or "",
    ]


LEASE_COLUMNS = [
    NAME,
    Column("Holder", doc=("io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity")),
    AGE,
]


def lease_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [_name(obj), dig(obj, "spec", "holderIdentity", default=""), _age(obj, clock)]


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
        _name(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _age(obj, clock),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(accounts),
    ]


# -- the table of printers ------------------------------------------------------------------

Printer = Tuple[List[Column], Cells, Optional[Conditions]]

PRINTERS: Dict[Tuple[str, str], Printer] = {
    ("", "pods"): (POD_COLUMNS, pod_cells, pod_conditions),
    ("", "podtemplates"): (PODTEMPLATE_COLUMNS, podtemplate_cells, None),
    ("", "replicationcontrollers"): (RC_COLUMNS, rc_cells, None),
    ("", "services"): (SERVICE_COLUMNS, service_cells, None),
    ("", "endpoints"): (ENDPOINTS_COLUMNS, endpoints_cells, None),
    ("", "nodes"): (NODE_COLUMNS, node_cells, None),
    ("", "events"): (EVENT_COLUMNS, event_cells, None),
    ("", "namespaces"): (NAMESPACE_COLUMNS, namespace_cells, None),
    ("", "secrets"): (SECRET_COLUMNS, secret_cells, None),
    ("", "serviceaccounts"): (SERVICEACCOUNT_COLUMNS, serviceaccount_cells, None),
    ("", "persistentvolumes"): (PV_COLUMNS, pv_cells, None),
    ("", "persistentvolumeclaims"): (PVC_COLUMNS, pvc_cells, None),
    ("", "configmaps"): (CONFIGMAP_COLUMNS, configmap_cells, None),
    ("", "resourcequotas"): (RESOURCEQUOTA_COLUMNS, resourcequota_cells, None),
    ("apps", "deployments"): (DEPLOYMENT_COLUMNS, deployment_cells, None),
    ("apps", "replicasets"): (REPLICASET_COLUMNS, replicaset_cells, None),
    ("apps", "statefulsets"): (STATEFULSET_COLUMNS, statefulset_cells, None),
    ("apps", "daemonsets"): (DAEMONSET_COLUMNS, daemonset_cells, None),
    ("batch", "jobs"): (JOB_COLUMNS, job_cells, None),
    ("batch", "cronjobs"): (CRONJOB_COLUMNS, cronjob_cells, None),
    ("autoscaling", "horizontalpodautoscalers"): (HPA_COLUMNS, hpa_cells, None),
    ("policy", "poddisruptionbudgets"): (PDB_COLUMNS, pdb_cells, None),
    ("networking.k8s.io", "ingresses"): (INGRESS_COLUMNS, ingress_cells, None),
    ("networking.k8s.io", "ingressclasses"): (INGRESSCLASS_COLUMNS, ingressclass_cells, None),
    ("networking.k8s.io", "networkpolicies"): (NETWORKPOLICY_COLUMNS, networkpolicy_cells, None),
    ("discovery.k8s.io", "endpointslices"): (ENDPOINTSLICE_COLUMNS, endpointslice_cells, None),
    ("events.k8s.io", "events"): (EVENT_COLUMNS, events_k8s_io_cells, None),
    ("storage.k8s.io", "storageclasses"): (STORAGECLASS_COLUMNS, storageclass_cells, None),
    ("scheduling.k8s.io", "priorityclasses"): (PRIORITYCLASS_COLUMNS, priorityclass_cells, None),
    ("coordination.k8s.io", "leases"): (LEASE_COLUMNS, lease_cells, None),
    ("rbac.authorization.k8s.io", "rolebindings"): (ROLEBINDING_COLUMNS, binding_cells, None),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): (CLUSTERROLEBINDING_COLUMNS, binding_cells, None),
}
