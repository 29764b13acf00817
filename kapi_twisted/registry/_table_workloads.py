"""
Table printers for pods and the workload controllers (apps, batch, core
replication controllers and pod templates).

Rewritten from kube-apiserver's printers (kubernetes C{pkg/printers/internalversion})
over the JSON the server stores; every printer returns the full (wide) row.
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
    Printer,
    age_of,
    as_int,
    bool_ptr,
    container_cells,
    deleting,
    dig,
    format_labels,
    format_selector,
    human_duration,
    name_of,
    parse_time,
    selector_string,
)

APPS = "io.k8s.api.apps.v1."
BATCH = "io.k8s.api.batch.v1."

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

    if deleting(pod) and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting(pod) and phase not in ("Succeeded", "Failed"):
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
        name_of(pod),
        f"{ready}/{total}",
        reason,
        restarts_text,
        age_of(pod, clock),
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
        name_of(obj),
        f"{as_int(status.get('readyReplicas'))}/{_replicas(obj)}",
        as_int(status.get("updatedReplicas")),
        as_int(status.get("availableReplicas")),
        age_of(obj, clock),
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


def _replica_cells(
    selector_text: Callable[[Any], str],
) -> Callable[[Dict[str, Any], Clock], List[Any]]:
    """ReplicaSets and ReplicationControllers print alike but for their selector's type."""

    def cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
        status = dig(obj, "status", default={})
        names, images = _template_containers(obj, "spec", "template", "spec")
        return [
            name_of(obj),
            _replicas(obj),
            as_int(status.get("replicas")),
            as_int(status.get("readyReplicas")),
            age_of(obj, clock),
            names,
            images,
            selector_text(dig(obj, "spec", "selector")),
        ]

    return cells


replicaset_cells = _replica_cells(format_selector)  # a LabelSelector
rc_cells = _replica_cells(format_labels)  # a plain label map


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
    return [name_of(obj), f"{ready}/{_replicas(obj)}", age_of(obj, clock), names, images]


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
        name_of(obj),
        as_int(status.get("desiredNumberScheduled")),
        as_int(status.get("currentNumberScheduled")),
        as_int(status.get("numberReady")),
        as_int(status.get("updatedNumberScheduled")),
        as_int(status.get("numberAvailable")),
        format_labels(dig(obj, "spec", "template", "spec", "nodeSelector")),
        age_of(obj, clock),
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
    elif deleting(obj):
        state = "Terminating"
    elif _job_condition(conditions, "Suspended"):
        state = "Suspended"
    elif _job_condition(conditions, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _template_containers(obj, "spec", "template", "spec")
    return [
        name_of(obj),
        state,
        completions,
        duration,
        age_of(obj, clock),
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
        name_of(obj),
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        bool_ptr(spec.get("suspend")),
        len(dig(obj, "status", "active", default=[])),
        clock.since(last) if last else "<none>",
        age_of(obj, clock),
        names,
        images,
        format_selector(dig(spec, "jobTemplate", "spec", "selector")),
    ]



PODTEMPLATE_COLUMNS = [
    NAME,
    Column("Containers", doc="Names of each container in the template."),
    Column("Images", doc="Images referenced by each container in the template."),
    Column("Pod Labels", doc="The labels for the pod template."),
]


def podtemplate_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    names, images = _template_containers(obj, "template", "spec")
    return [name_of(obj), names, images, format_labels(dig(obj, "template", "metadata", "labels"))]


CONTROLLERREVISION_COLUMNS = [
    NAME,
    Column("Controller", doc="Controller of the object"),
    Column("Revision", doc=(APPS + "ControllerRevision", "revision")),
    AGE,
]


def controllerrevision_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    controller = "<none>"
    for ref in dig(obj, "metadata", "ownerReferences", default=[]):
        if ref.get("controller"):
            api_version = ref.get("apiVersion", "")
            group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
            kind = ref.get("kind", "")
            qualified = f"{kind}.{group}" if group else kind
            controller = f"{qualified.lower()}/{ref.get('name', '')}" if qualified else ref.get("name", "")
            break
    return [name_of(obj), controller, as_int(obj.get("revision")), age_of(obj, clock)]


PRINTERS: Dict[Tuple[str, str], Printer] = {
    ("apps", "controllerrevisions"): (CONTROLLERREVISION_COLUMNS, controllerrevision_cells, None),
    ("", "pods"): (POD_COLUMNS, pod_cells, pod_conditions),
    ("", "podtemplates"): (PODTEMPLATE_COLUMNS, podtemplate_cells, None),
    ("", "replicationcontrollers"): (RC_COLUMNS, rc_cells, None),
    ("apps", "deployments"): (DEPLOYMENT_COLUMNS, deployment_cells, None),
    ("apps", "replicasets"): (REPLICASET_COLUMNS, replicaset_cells, None),
    ("apps", "statefulsets"): (STATEFULSET_COLUMNS, statefulset_cells, None),
    ("apps", "daemonsets"): (DAEMONSET_COLUMNS, daemonset_cells, None),
    ("batch", "jobs"): (JOB_COLUMNS, job_cells, None),
    ("batch", "cronjobs"): (CRONJOB_COLUMNS, cronjob_cells, None),
}
