"""
Validation of a CRD's C{spec.conversion} (C{validateCustomResourceConversion}
and the admission-webhook client-config checks it shares with webhooks).

The v1 C{spec.conversion.webhook.clientConfig} is reported under the internal
API's name, C{spec.conversion.webhookClientConfig}, as kube-apiserver does.
"""

from __future__ import annotations

from typing import Any, List, Optional
from urllib.parse import urlsplit

from kapi_twisted.registry import validation as meta

from .schema import _fielderr as fe

__all__ = ["validate_conversion"]

_CONVERSION_REVIEW_VERSIONS = ("v1", "v1beta1")


def validate_conversion(conv: Optional[dict], old: Optional[dict]) -> List[dict]:
    if conv is None:
        return []
    errs: List[dict] = []
    strategy = conv.get("strategy") or ""
    if not strategy:
        errs.append(fe.required("spec.conversion.strategy"))
    elif strategy not in ("None", "Webhook"):
        errs.append(fe.not_supported("spec.conversion.strategy", strategy, ["None", "Webhook"]))
    webhook = conv.get("webhook") if isinstance(conv.get("webhook"), dict) else None
    cc = webhook.get("clientConfig") if webhook and isinstance(webhook.get("clientConfig"), dict) else None
    review = list(webhook.get("conversionReviewVersions") or []) if webhook else []
    if strategy == "Webhook":
        ccp = "spec.conversion.webhookClientConfig"
        if cc is None:
            errs.append(fe.required(ccp, "required when strategy is set to Webhook"))
        else:
            url, svc = cc.get("url"), cc.get("service")
            if (url is None) == (svc is None):
                errs.append(fe.required(ccp, "exactly one of url or service is required"))
            elif url is not None:
                errs.extend(_webhook_url(f"{ccp}.url", url))
            else:
                errs.extend(_webhook_service(f"{ccp}.service", svc if isinstance(svc, dict) else {}))
        old_conv = ((old or {}).get("spec") or {}).get("conversion") if old else None
        require_known = True
        if old is not None and isinstance(old_conv, dict):
            old_review = ((old_conv.get("webhook") or {}).get("conversionReviewVersions")) or []
            require_known = not old_review or any(v in _CONVERSION_REVIEW_VERSIONS for v in old_review)
        errs.extend(_review_versions(review, require_known))
    else:
        if cc is not None:
            errs.append(fe.forbidden("spec.conversion.webhookClientConfig",
                                     "should not be set when strategy is not set to Webhook"))
        if review:
            errs.append(fe.forbidden("spec.conversion.conversionReviewVersions",
                                     "should not be set when strategy is not set to Webhook"))
    return errs


def _review_versions(versions: List[Any], require_known: bool) -> List[dict]:
    p = "spec.conversion.conversionReviewVersions"
    if not versions:
        return [fe.required(p)]
    errs: List[dict] = []
    seen = set()
    known = False
    for i, v in enumerate(versions):
        v = v if isinstance(v, str) else ""
        if v in seen:
            errs.append(fe.invalid(f"{p}[{i}]", v, "duplicate version"))
            continue
        seen.add(v)
        for msg in meta.is_dns1035_label(v):
            errs.append(fe.invalid(f"{p}[{i}]", v, msg))
        known = known or v in _CONVERSION_REVIEW_VERSIONS
    if require_known and not known:
        errs.append(fe.invalid(p, fe.GoStrings(versions), "must include at least one of v1, v1beta1"))
    return errs


def _webhook_url(p: str, url: str) -> List[dict]:
    errs: List[dict] = []
    try:
        u = urlsplit(url)
    except ValueError as e:
        return [fe.required(p, f"url must be a valid URL: {e}")]
    if u.scheme != "https":
        errs.append(fe.invalid(p, u.scheme, "'https' is the only allowed URL scheme"))
    if not u.hostname:
        errs.append(fe.invalid(p, u.netloc, "host must be specified"))
    if u.username is not None or u.password is not None:
        errs.append(fe.invalid(p, u.netloc, "user information is not permitted in the URL"))
    if u.fragment or url.endswith("#"):
        errs.append(fe.invalid(p, u.fragment, "fragments are not permitted in the URL"))
    if u.query or url.endswith("?"):
        errs.append(fe.invalid(p, u.query, "query parameters are not permitted in the URL"))
    return errs


def _webhook_service(p: str, svc: dict) -> List[dict]:
    errs: List[dict] = []
    if not svc.get("name"):
        errs.append(fe.required(f"{p}.name", "service name is required"))
    if not svc.get("namespace"):
        errs.append(fe.required(f"{p}.namespace", "service namespace is required"))
    port = svc.get("port")
    if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
        errs.append(fe.invalid(f"{p}.port", port, "port is not valid: must be between 1 and 65535, inclusive"))
    path = svc.get("path")
    if path is not None:
        errs.extend(_webhook_path(f"{p}.path", path))
    return errs


def _webhook_path(p: str, path: str) -> List[dict]:
    if path == "/":
        return []
    if not path.startswith("/"):
        return [fe.invalid(p, path, "must start with a '/'")]
    errs: List[dict] = []
    steps = path[1:].split("/")
    for i, step in enumerate(steps):
        if not step:
            if i != len(steps) - 1:
                errs.append(fe.invalid(p, path, "segment[%d] may not be empty" % i))
            continue
        for msg in meta.is_dns1123_subdomain(step):
            errs.append(fe.invalid(p, path, f"segment[{i}]: {msg}"))
    return errs
