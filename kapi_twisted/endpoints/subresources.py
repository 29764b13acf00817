"""
Create-only subresources of pods that act on the pod itself through its
store: C{pods/binding} (and the older C{bindings} resource), which assigns a
pod to a node as a scheduler does, and C{pods/eviction}, which deletes a pod
as C{kubectl drain} asks (PodDisruptionBudgets are not consulted yet).
Both answer 201 with a C{Status} of success, as kube-apiserver does.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any, Dict

from twisted.internet.defer import inlineCallbacks

from kapi_twisted import apierrors
from kapi_twisted.endpoints import negotiation, options as opts
from kapi_twisted.endpoints._http import body_response as _body, header as _header
from kapi_twisted.endpoints._http import read_body as _read_body
from kapi_twisted.registry.interface import RequestContext, WriteOptions

SUCCESS_CREATED = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                   "status": "Success", "code": 201}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bind(name: str, binding: Dict[str, Any]):
    target = binding.get("target") or {}
    node = target.get("name") or ""
    if not node:
        raise apierrors.invalid("Binding", name, [apierrors.field_error(
            apierrors.FIELD_VALUE_REQUIRED, "target.name", "Required value")])
    if target.get("kind") not in (None, "", "Node"):
        raise apierrors.invalid("Binding", name, [apierrors.field_error(
            apierrors.FIELD_VALUE_NOT_SUPPORTED, "target.kind",
            f'Unsupported value: "{target.get("kind")}": supported values: "Node"')])
    annotations = (binding.get("metadata") or {}).get("annotations") or {}

    def assign(current: Dict[str, Any]) -> Dict[str, Any]:
        pod = copy.deepcopy(current)
        meta = pod.setdefault("metadata", {})
        if meta.get("deletionTimestamp"):
            raise apierrors.conflict("pods", name, "pod is being deleted, cannot be assigned to a host")
        spec = pod.setdefault("spec", {})
        if spec.get("nodeName"):
            raise apierrors.conflict(
                "pods", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"')
        spec["nodeName"] = node
        if annotations:
            meta.setdefault("annotations", {}).update(annotations)
        return pod

    return assign


def _scheduled(current: Dict[str, Any]) -> Dict[str, Any]:
    pod = copy.deepcopy(current)
    status = pod.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    conditions.append({"type": "PodScheduled", "status": "True",
                       "lastProbeTime": None, "lastTransitionTime": _now()})
    status["conditions"] = conditions
    return pod


@inlineCallbacks
def bind_pod(ctx: RequestContext, pods: Any, namespace: str, name: str,
             binding: Dict[str, Any], options: WriteOptions):
    """
    Assign pod C{name} to C{binding.target.name} (then mark it scheduled in
    its status); fires with the success Status.
    """
    yield pods.patch(ctx, namespace, name, _bind(name, binding), options)
    if not options.dry_run:
        yield pods.patch(ctx, namespace, name, _scheduled, options, subresource="status")
    return dict(SUCCESS_CREATED)


@inlineCallbacks
def evict_pod(ctx: RequestContext, pods: Any, namespace: str, name: str,
              eviction: Dict[str, Any], dry_run: bool):
    """Delete pod C{name} with the eviction's DeleteOptions; fires with the success Status."""
    delete_options = opts.parse_delete_options({}, eviction.get("deleteOptions") or None)
    delete_options.dry_run = delete_options.dry_run or dry_run
    yield pods.delete(ctx, namespace, name, delete_options)
    return dict(SUCCESS_CREATED)


@inlineCallbacks
def serve(resource: Any, request: Any, route: Any, pods: Any):
    """POST pods/<name>/binding, bindings or pods/<name>/eviction (C{resource}: the handler)."""
    query = opts.query_of(request)
    output = resource._output(request, "create", query)
    options = resource._write_options(request, query, "CreateOptions")
    sub = route.info.subresource(route.subresource) if route.subresource else None
    api_version = (f"{sub.group}/{sub.version}" if sub and sub.group else
                   (sub.version if sub else route.info.group_version))
    kind = sub.kind if sub else route.info.kind
    body = negotiation.decode_body(_header(request, b"content-type"), _read_body(request),
                                   api_version, kind)
    if not isinstance(body, dict):
        raise apierrors.bad_request("the object provided is unrecognized")
    name = route.name or ((body.get("metadata") or {}).get("name") or "")
    body_name = (body.get("metadata") or {}).get("name") or name
    if body_name != name:
        raise apierrors.bad_request(
            f"name in URL does not match name in {kind} object")
    ctx = resource._context(request)
    if kind == "Eviction":
        status = yield evict_pod(ctx, pods, route.namespace, name, body,
                                              options.dry_run)
    else:
        status = yield bind_pod(ctx, pods, route.namespace, name, body, options)
    resource._warn(request, ctx)
    response = _body(negotiation.encode(status, output), output)
    response.code = 201
    return response
