"""
Table printers for the control plane's own APIs: component statuses,
API services, certificate signing requests and trust bundles, admission
webhooks and policies, API priority and fairness, runtime classes and
dynamic resource allocation.

Rewritten from kube-apiserver's printers (kubernetes C{pkg/printers/internalversion},
and kube-aggregator's APIService table) over the JSON the server stores.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from kapi_twisted.registry._table_format import (
    AGE,
    NAME,
    Clock,
    Column,
    Printer,
    age_of,
    as_int,
    deleting,
    dig,
    human_duration,
    name_of,
    selector_string,
)

ADMISSION = "io.k8s.api.admissionregistration.v1."
FLOWCONTROL = "io.k8s.api.flowcontrol.v1."
CERTIFICATES = "io.k8s.api.certificates.v1."
RESOURCE = "io.k8s.api.resource.v1."

# -- component statuses and API services ------------------------------------------------

COMPONENTSTATUS_COLUMNS = [
    NAME,
    Column("Status", doc="Status of the component conditions"),
    Column("Message", doc="Message of the component conditions"),
    Column("Error", doc="Error of the component conditions"),
]


def componentstatus_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    status, message, error = "Unknown", "", ""
    for condition in obj.get("conditions") or []:
        if condition.get("type") == "Healthy":
            status = "Healthy" if condition.get("status") == "True" else "Unhealthy"
            message = condition.get("message", "")
            error = condition.get("error", "")
            break
    return [name_of(obj), status, message, error]


APISERVICE_COLUMNS = [
    NAME,
    Column("Service", doc="The reference to the service that hosts this API endpoint."),
    Column("Available", doc="Whether this service is available."),
    Column("Age", doc="The time since this service was created."),
]


def apiservice_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    service = dig(obj, "spec", "service")
    where = f"{service.get('namespace', '')}/{service.get('name', '')}" if service else "Local"
    available = "Unknown"
    for condition in dig(obj, "status", "conditions", default=[]):
        if condition.get("type") == "Available":
            state = condition.get("status", "")
            if state != "True" and condition.get("reason"):
                available = f"{state} ({condition['reason']})"
            else:
                available = state
            break
    return [name_of(obj), where, available, age_of(obj, clock)]


# -- certificates ------------------------------------------------------------------------

CSR_COLUMNS = [
    NAME,
    AGE,
    Column("SignerName", doc=(CERTIFICATES + "CertificateSigningRequestSpec", "signerName")),
    Column("Requestor", doc=(CERTIFICATES + "CertificateSigningRequestSpec", "request")),
    Column("RequestedDuration", doc=(CERTIFICATES + "CertificateSigningRequestSpec", "expirationSeconds")),
    Column("Condition", doc=(CERTIFICATES + "CertificateSigningRequestStatus", "conditions")),
]


def csr_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    kinds = {c.get("type") for c in dig(obj, "status", "conditions", default=[])}
    if "Denied" in kinds:
        state = "Denied"
    elif "Approved" in kinds:
        state = "Approved"
    else:
        state = "Pending"
    if "Failed" in kinds:
        state += ",Failed"
    if dig(obj, "status", "certificate"):
        state += ",Issued"
    seconds = spec.get("expirationSeconds")
    return [
        name_of(obj),
        age_of(obj, clock),
        spec.get("signerName") or "<none>",
        spec.get("username", ""),
        human_duration(as_int(seconds)) if seconds is not None else "<none>",
        state,
    ]


CLUSTERTRUSTBUNDLE_COLUMNS = [
    NAME,
    Column("SignerName", doc=(CERTIFICATES + "ClusterTrustBundleSpec", "signerName")),
]


def clustertrustbundle_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), dig(obj, "spec", "signerName") or "<none>"]


# -- admission ------------------------------------------------------------------------------

WEBHOOK_COLUMNS = [
    NAME,
    Column("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
    AGE,
]


def webhook_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), len(obj.get("webhooks") or []), age_of(obj, clock)]


def _policy_columns(count: str, text: str) -> List[Column]:
    return [
        NAME,
        Column(count, "integer", text),
        Column("ParamKind", doc="ParamKind specifies the kind of resources used to parameterize this policy"),
        AGE,
    ]


VALIDATING_POLICY_COLUMNS = _policy_columns(
    "Validations", "Validations indicates the number of validation rules defined in this configuration")
MUTATING_POLICY_COLUMNS = _policy_columns(
    "Mutations", "Mutation indicates the number of mutations rules defined in this configuration")


def _policy_cells(field: str) -> Callable[[Dict[str, Any], Clock], List[Any]]:
    def cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
        kind = dig(obj, "spec", "paramKind")
        param = f"{kind.get('apiVersion', '')}/{kind.get('kind', '')}" if kind else "<unset>"
        return [name_of(obj), len(dig(obj, "spec", field, default=[])), param, age_of(obj, clock)]

    return cells


POLICY_BINDING_COLUMNS = [
    NAME,
    Column("PolicyName", doc="PolicyName indicates the policy definition which the policy binding binded to"),
    Column("ParamRef", doc="ParamRef indicates the param resource which sets the configration param"),
    AGE,
]


def policy_binding_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    ref = dig(obj, "spec", "paramRef")
    param = "<unset>"
    if ref:
        if ref.get("name"):
            param = f"{ref['namespace']}/{ref['name']}" if ref.get("namespace") else f"*/{ref['name']}"
        elif ref.get("selector") is not None:
            try:
                param = selector_string(ref["selector"])
            except ValueError:
                param = "<error>"
    return [name_of(obj), dig(obj, "spec", "policyName", default=""), param, age_of(obj, clock)]


# -- API priority and fairness ------------------------------------------------------------

FLOWSCHEMA_COLUMNS = [
    NAME,
    Column("PriorityLevel", doc=(FLOWCONTROL + "PriorityLevelConfigurationReference", "name")),
    Column("MatchingPrecedence", doc=(FLOWCONTROL + "FlowSchemaSpec", "matchingPrecedence")),
    Column("DistinguisherMethod", doc=(FLOWCONTROL + "FlowSchemaSpec", "distinguisherMethod")),
    AGE,
    Column("MissingPL", doc="references a broken or non-existent PriorityLevelConfiguration"),
]


def flowschema_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    method = dig(spec, "distinguisherMethod", "type") or "<none>"
    dangling = "?"
    for condition in dig(obj, "status", "conditions", default=[]):
        if condition.get("type") == "Dangling":
            dangling = condition.get("status", "")
            break
    return [
        name_of(obj),
        dig(spec, "priorityLevelConfiguration", "name", default=""),
        as_int(spec.get("matchingPrecedence")),
        method,
        age_of(obj, clock),
        dangling,
    ]


def flowschema_order(objects: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """FlowSchemas list in the order they match: precedence, then name."""
    return sorted(objects, key=lambda o: (as_int(dig(o, "spec", "matchingPrecedence")), name_of(o)))


PRIORITYLEVEL_COLUMNS = [
    NAME,
    Column("Type", doc=(FLOWCONTROL + "PriorityLevelConfigurationSpec", "type")),
    Column("NominalConcurrencyShares", doc=(FLOWCONTROL + "LimitedPriorityLevelConfiguration",
                                            "nominalConcurrencyShares")),
    Column("Queues", doc=(FLOWCONTROL + "QueuingConfiguration", "queues")),
    Column("HandSize", doc=(FLOWCONTROL + "QueuingConfiguration", "handSize")),
    Column("QueueLengthLimit", doc=(FLOWCONTROL + "QueuingConfiguration", "queueLengthLimit")),
    AGE,
]


def prioritylevel_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    shares: Any = "<none>"
    queues: Any = "<none>"
    hand: Any = "<none>"
    length: Any = "<none>"
    limited = spec.get("limited")
    if limited is not None:
        shares = as_int(limited.get("nominalConcurrencyShares"))
        queuing = dig(limited, "limitResponse", "queuing")
        if queuing is not None:
            queues = as_int(queuing.get("queues"))
            hand = as_int(queuing.get("handSize"))
            length = as_int(queuing.get("queueLengthLimit"))
    return [name_of(obj), spec.get("type", ""), shares, queues, hand, length, age_of(obj, clock)]


# -- node and resource ------------------------------------------------------------------------

RUNTIMECLASS_COLUMNS = [NAME, Column("Handler", doc=("io.k8s.api.node.v1.RuntimeClass", "handler")), AGE]


def runtimeclass_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), obj.get("handler", ""), age_of(obj, clock)]


NAME_AGE_COLUMNS = [NAME, AGE]


def name_age_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), age_of(obj, clock)]


RESOURCECLAIM_COLUMNS = [
    NAME,
    Column("State", doc="A summary of the current state (allocated, pending, reserved, etc.)."),
    AGE,
]


def resourceclaim_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    states = []
    if deleting(obj):
        states.append("deleted")
    if dig(obj, "status", "allocation") is None:
        if not deleting(obj):
            states.append("pending")
    else:
        states.append("allocated")
        if dig(obj, "status", "reservedFor"):
            states.append("reserved")
    return [name_of(obj), ",".join(states), age_of(obj, clock)]


RESOURCESLICE_COLUMNS = [
    NAME,
    Column("Node", doc=(RESOURCE + "ResourceSliceSpec", "nodeName")),
    Column("Driver", doc=(RESOURCE + "ResourceSliceSpec", "driver")),
    Column("Pool", doc=(RESOURCE + "ResourcePool", "name")),
    AGE,
]


def resourceslice_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    return [
        name_of(obj),
        spec.get("nodeName", ""),
        spec.get("driver", ""),
        dig(spec, "pool", "name", default=""),
        age_of(obj, clock),
    ]


ADMISSION_GROUP = "admissionregistration.k8s.io"

PRINTERS: Dict[Tuple[str, str], Printer] = {
    ("", "componentstatuses"): (COMPONENTSTATUS_COLUMNS, componentstatus_cells, None),
    ("apiregistration.k8s.io", "apiservices"): (APISERVICE_COLUMNS, apiservice_cells, None),
    ("certificates.k8s.io", "certificatesigningrequests"): (CSR_COLUMNS, csr_cells, None),
    ("certificates.k8s.io", "clustertrustbundles"): (CLUSTERTRUSTBUNDLE_COLUMNS, clustertrustbundle_cells, None),
    (ADMISSION_GROUP, "mutatingwebhookconfigurations"): (WEBHOOK_COLUMNS, webhook_cells, None),
    (ADMISSION_GROUP, "validatingwebhookconfigurations"): (WEBHOOK_COLUMNS, webhook_cells, None),
    (ADMISSION_GROUP, "validatingadmissionpolicies"): (
        VALIDATING_POLICY_COLUMNS, _policy_cells("validations"), None),
    (ADMISSION_GROUP, "mutatingadmissionpolicies"): (MUTATING_POLICY_COLUMNS, _policy_cells("mutations"), None),
    (ADMISSION_GROUP, "validatingadmissionpolicybindings"): (POLICY_BINDING_COLUMNS, policy_binding_cells, None),
    (ADMISSION_GROUP, "mutatingadmissionpolicybindings"): (POLICY_BINDING_COLUMNS, policy_binding_cells, None),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"): (FLOWSCHEMA_COLUMNS, flowschema_cells, None),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"): (
        PRIORITYLEVEL_COLUMNS, prioritylevel_cells, None),
    ("node.k8s.io", "runtimeclasses"): (RUNTIMECLASS_COLUMNS, runtimeclass_cells, None),
    ("resource.k8s.io", "deviceclasses"): (NAME_AGE_COLUMNS, name_age_cells, None),
    ("resource.k8s.io", "resourceclaimtemplates"): (NAME_AGE_COLUMNS, name_age_cells, None),
    ("resource.k8s.io", "resourceclaims"): (RESOURCECLAIM_COLUMNS, resourceclaim_cells, None),
    ("resource.k8s.io", "resourceslices"): (RESOURCESLICE_COLUMNS, resourceslice_cells, None),
}

ORDERS: Dict[Tuple[str, str], Callable[[List[Dict[str, Any]]], List[Dict[str, Any]]]] = {
    ("flowcontrol.apiserver.k8s.io", "flowschemas"): flowschema_order,
}
"""Types whose lists kube-apiserver prints in an order of their own."""
