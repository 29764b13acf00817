"""The table from (group, version, kind) to the defaulter of that kind."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from kapi_twisted import apierrors

from . import (_quantity, admissionregistration, apps, autoscaling, batch, core, discovery,
               flowcontrol, networking, rbac, scheduling, storage)
from ._util import JSON

Defaulter = Callable[[JSON], None]

_BY_GROUP_VERSION: Dict[Tuple[str, str], Dict[str, Defaulter]] = {
    ("", "v1"): core.DEFAULTERS,
    ("apps", "v1"): apps.DEFAULTERS,
    ("batch", "v1"): batch.DEFAULTERS,
    ("networking.k8s.io", "v1"): networking.DEFAULTERS,
    ("rbac.authorization.k8s.io", "v1"): rbac.DEFAULTERS,
    ("autoscaling", "v1"): autoscaling.DEFAULTERS_V1,
    ("autoscaling", "v2"): autoscaling.DEFAULTERS_V2,
    ("storage.k8s.io", "v1"): storage.DEFAULTERS,
    ("admissionregistration.k8s.io", "v1"): admissionregistration.DEFAULTERS,
    ("admissionregistration.k8s.io", "v1beta1"): {
        k: f for k, f in admissionregistration.DEFAULTERS.items() if "Policy" in k},
    ("scheduling.k8s.io", "v1"): scheduling.DEFAULTERS,
    ("discovery.k8s.io", "v1"): discovery.DEFAULTERS,
    ("flowcontrol.apiserver.k8s.io", "v1"): flowcontrol.DEFAULTERS,
}


def defaulter_for(group: str, version: str, kind: str) -> Optional[Defaulter]:
    """The defaulting function of a kind, or None when kube defaults nothing."""
    table = _BY_GROUP_VERSION.get((group, version))
    return table.get(kind) if table else None


def apply_defaults(group: str, version: str, kind: str, obj: JSON) -> None:
    """
    Default C{obj} in place as kube-apiserver does when decoding a request
    body of this kind. C{obj} must be the caller's own copy. Raises an
    L{apierrors.APIError} (400) for a malformed quantity, as the decoder does.
    """
    fn = defaulter_for(group, version, kind)
    if fn is None or not isinstance(obj, dict):
        return
    try:
        fn(obj)
    except (_quantity.QuantityError, core.Base64Error) as e:
        raise apierrors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: {e}')
