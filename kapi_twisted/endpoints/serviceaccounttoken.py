"""
C{POST .../serviceaccounts/<name>/token}: an C{authentication.k8s.io/v1
TokenRequest} answered with a signed token for the account
(C{kubectl create token}), as kube-apiserver's C{TokenREST} answers it.

The request is never stored. Its audiences default to the API's, its
lifetime to an hour (at least ten minutes); a C{boundObjectRef} (Pod,
Secret or Node) must exist, in the account's namespace, with the given uid,
and is written into the token so the token dies with it. The issuer is the
L{kapi_twisted.auth.ServiceAccountTokens} set on the serviceaccounts store
as C{token_issuer} (L{kapi_twisted.controlplane.serviceaccounttokens}).
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, Optional

from twisted.internet.defer import inlineCallbacks

from kapi_twisted import apierrors
from kapi_twisted.auth.serviceaccount import (
    DEFAULT_EXPIRATION_SECONDS,
    EXTENDED_EXPIRATION_SECONDS,
    MAX_EXPIRATION_SECONDS,
    MIN_EXPIRATION_SECONDS,
    WARN_ONLY_EXPIRATION_SECONDS,
    ServiceAccountTokens,
)
from kapi_twisted.endpoints import negotiation, options as opts
from kapi_twisted.endpoints._http import body_response as _body, header as _header
from kapi_twisted.endpoints._http import read_body as _read_body
from kapi_twisted.endpoints.render import object_of
from kapi_twisted.registry.interface import GetOptions

API_VERSION = "authentication.k8s.io/v1"
KIND = "TokenRequest"
GROUP = "authentication.k8s.io"

#: Kinds a token may be bound to: (store plural, namespaced).
BINDABLE = {"Pod": ("pods", True), "Secret": ("secrets", True), "Node": ("nodes", False)}


def _timestamp(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _invalid(name: str, field: str, value: Any, message: str) -> apierrors.APIError:
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    return apierrors.invalid(KIND, name, [apierrors.field_error(
        apierrors.FIELD_VALUE_INVALID, field, f"Invalid value: {shown}: {message}")],
        group=GROUP)


def _decode(request: Any) -> Dict[str, Any]:
    body = negotiation.decode_body(_header(request, b"content-type"), _read_body(request),
                                   API_VERSION, KIND)
    if not isinstance(body, dict):
        raise apierrors.bad_request("the object provided is unrecognized: expected a JSON object")
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != API_VERSION:
        raise apierrors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected "
            f"API version ({API_VERSION})")
    if kind and kind != KIND:
        raise apierrors.bad_request(
            f'{kind} in version "v1" cannot be handled as a {KIND}: the kind in the data '
            f"({kind}) does not match the expected kind ({KIND})")
    for field in ("metadata", "spec"):
        if not isinstance(body.get(field) or {}, dict):
            raise apierrors.bad_request(f"{field}: expected an object")
    return body


def _expiration(spec: Dict[str, Any]) -> int:
    value = spec.get("expirationSeconds")
    if value is None:
        return DEFAULT_EXPIRATION_SECONDS
    if isinstance(value, bool) or not isinstance(value, int):
        raise apierrors.bad_request("spec.expirationSeconds: expected an integer")
    if value < MIN_EXPIRATION_SECONDS:
        raise _invalid("", "spec.expirationSeconds", value,
                       "may not specify a duration less than 10 minutes")
    if value > MAX_EXPIRATION_SECONDS:
        raise _invalid("", "spec.expirationSeconds", value,
                       "may not specify a duration larger than 2^32 seconds")
    return value


@inlineCallbacks
def _bound_objects(resource: Any, ctx: Any, namespace: str, account_name: str,
                   ref: Dict[str, Any]):
    """(pod, secret, node) the reference names, looked up and checked as kube does."""
    kind = ref.get("kind") or ""
    api_version = ref.get("apiVersion") or ""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    version = api_version.rpartition("/")[2]
    name = ref.get("name") or ""
    if group or kind not in BINDABLE:
        raise apierrors.bad_request(
            f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    plural, namespaced = BINDABLE[kind]
    store = resource.stores.get(plural)
    if store is None:
        raise apierrors.bad_request(
            f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    kv = yield store.get(ctx, namespace if namespaced else "", name, GetOptions())
    obj = object_of(kv)
    pod = secret = node = None
    if kind == "Pod":
        pod = obj
        spec = pod.get("spec") or {}
        if (spec.get("serviceAccountName") or "") != account_name:
            raise apierrors.bad_request(
                f'cannot bind token for serviceaccount "{account_name}" to pod running with '
                f"different serviceaccount name.")
        node_name = spec.get("nodeName") or ""
        nodes = resource.stores.get("nodes")
        if node_name and nodes is not None:
            try:
                node = object_of((yield nodes.get(ctx, "", node_name, GetOptions())))
            except apierrors.APIError as e:
                if e.code != 404:
                    raise
    elif kind == "Secret":
        secret = obj
    else:
        node = obj
    uid = (obj.get("metadata") or {}).get("uid") or ""
    wanted = ref.get("uid") or ""
    if wanted and wanted != uid:
        raise apierrors.conflict(
            kind, name, f"the UID in the bound object reference ({wanted}) does not match "
            f"the UID in record. The object might have been deleted and then recreated")
    return pod, secret, node


@inlineCallbacks
def serve(resource: Any, request: Any, route: Any, store: Any):
    """
    POST serviceaccounts/<name>/token (C{resource}: the group-version handler,
    C{store}: the serviceaccounts store); answers 201 with the TokenRequest
    and its C{status.token}.
    """
    issuer: Optional[ServiceAccountTokens] = getattr(store, "token_issuer", None)
    if issuer is None:
        raise apierrors.method_not_allowed(
            "create is not supported on serviceaccounts/token: no service-account token issuer")
    query = opts.query_of(request)
    output = resource._output(request, "create", query)
    body = _decode(request)
    name, namespace = route.name, route.namespace
    meta = body.get("metadata") or {}
    spec = dict(body.get("spec") or {})
    if meta.get("name") and meta["name"] != name:
        raise _invalid(name, "metadata.name", meta["name"],
                       "must match the service account name if specified")
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise _invalid(name, "metadata.namespace", meta["namespace"],
                       "must match the service account namespace if specified")
    ctx = resource._context(request)
    account = object_of((yield store.get(ctx, namespace, name, GetOptions())))
    audiences = [a for a in spec.get("audiences") or [] if isinstance(a, str)]
    if not audiences:
        audiences = list(issuer.api_audiences)
    spec["audiences"] = audiences
    expiration = _expiration(spec)
    spec["expirationSeconds"] = expiration
    now = resource.clock.seconds()
    pod = secret = node = None
    ref = spec.get("boundObjectRef")
    if ref is not None:
        if not isinstance(ref, dict):
            raise apierrors.bad_request("spec.boundObjectRef: expected an object")
        pod, secret, node = yield _bound_objects(resource, ctx, namespace, name, ref)
    lifetime, warn_after = expiration, 0
    if (pod is not None and expiration == WARN_ONLY_EXPIRATION_SECONDS
            and set(audiences) <= set(issuer.api_audiences)):
        lifetime, warn_after = EXTENDED_EXPIRATION_SECONDS, expiration
    claims = issuer.claims(account, audiences, now, lifetime, pod=pod, secret=secret,
                           node=node, warn_after=warn_after)
    answer = {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": {"name": name, "namespace": namespace,
                     "creationTimestamp": _timestamp(now)},
        "spec": spec,
        "status": {"token": issuer.sign(claims),
                   "expirationTimestamp": _timestamp(now + expiration)},
    }
    response = _body(negotiation.encode(answer, output), output)
    response.code = 201
    return response
