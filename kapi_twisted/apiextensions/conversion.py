"""
Conversion of custom objects between the versions of their CRD.

C{spec.conversion.strategy: None} only rewrites C{apiVersion}; C{Webhook}
POSTs a C{ConversionReview} (C{apiextensions.k8s.io/v1}, or v1beta1 when
that is all the CRD's C{conversionReviewVersions} offer) with treq to the
webhook's C{clientConfig.url}, verifying its TLS certificate against
C{caBundle} (the system's roots when there is none). A C{service} reference
becomes C{https://<name>.<namespace>.svc:<port><path>}, as kube's service
resolver spells it; there is no service network here, so only URLs reach
anything.

As in kube-apiserver, a webhook may change only the labels and annotations
of an object's metadata; everything else is kept from the original, and a
webhook that answers with the wrong UID, count, version or kind fails the
request with a 500 naming the webhook.

    converter = Converter(crd, reactor)
    d = converter.convert([obj1, obj2], "stable.example.com/v2")   # -> [converted...]
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any, List, Optional

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.logger import Logger
from zope.interface import implementer

from kapi_twisted import apierrors

from . import _crd

__all__ = ["Converter", "ConversionError", "webhook_url"]

log = Logger()

WEBHOOK_TIMEOUT = 30.0
_REVIEW_VERSIONS = ("v1", "v1beta1")


class ConversionError(apierrors.APIError):
    """A conversion that failed: kube answers 500 InternalError."""

    def __init__(self, message: str) -> None:
        super().__init__(500, apierrors.INTERNAL_ERROR, message,
                         {"causes": [{"message": message}]})


def webhook_url(client_config: dict) -> str:
    """The URL of a webhook's C{clientConfig} (C{url}, or a service reference)."""
    url = client_config.get("url")
    if url:
        return url
    svc = client_config.get("service") or {}
    path = svc.get("path") or ""
    port = svc.get("port") or 443
    return f"https://{svc.get('name', '')}.{svc.get('namespace', '')}.svc:{port}{path}"


def _restore_metadata(original: dict, converted: dict) -> dict:
    """C{converted} with the original metadata, except labels and annotations."""
    out = dict(converted)
    meta = copy.deepcopy(original.get("metadata") or {})
    new_meta = converted.get("metadata") or {}
    for key in ("labels", "annotations"):
        if new_meta.get(key):
            meta[key] = new_meta[key]
        else:
            meta.pop(key, None)
    out["metadata"] = meta
    return out


class Converter:
    """Converts custom objects of one CRD (as it is now) between its versions."""

    def __init__(self, crd: dict, reactor: Any = None, timeout: float = WEBHOOK_TIMEOUT) -> None:
        self.group = _crd.group(crd)
        self.kind = _crd.accepted_names(crd).get("kind") or ""
        conversion = _crd.spec(crd).get("conversion") or {}
        self.strategy = conversion.get("strategy") or "None"
        webhook = conversion.get("webhook") or {}
        self.client_config = webhook.get("clientConfig") or conversion.get(
            "webhookClientConfig") or {}
        offered = webhook.get("conversionReviewVersions") or conversion.get(
            "conversionReviewVersions") or ["v1"]
        self.review_version = next((v for v in offered if v in _REVIEW_VERSIONS), "")
        self.reactor = reactor
        self.timeout = timeout
        self._agent: Any = None

    @property
    def is_webhook(self) -> bool:
        return self.strategy == "Webhook"

    def convert(self, objects: List[dict], api_version: str) -> Deferred:
        """Deferred -> C{objects} at C{api_version} (new dicts where anything changed)."""
        pending = [i for i, o in enumerate(objects) if o.get("apiVersion") != api_version]
        if not pending:
            return succeed(list(objects))
        if not self.is_webhook:
            out = list(objects)
            for i in pending:
                obj = dict(out[i])
                obj["apiVersion"] = api_version
                out[i] = obj
            return succeed(out)
        d = self._webhook([objects[i] for i in pending], api_version)

        def merge(converted: List[dict]) -> List[dict]:
            out = list(objects)
            for i, obj in zip(pending, converted):
                out[i] = obj
            return out

        return d.addCallback(merge)

    # -- the webhook ------------------------------------------------------------------

    def _error(self, text: str, api_version: str = "") -> ConversionError:
        gvk = f"{api_version or self.group}, Kind={self.kind}"
        return ConversionError(f"conversion webhook for {gvk} failed: {text}")

    def _agent_for(self) -> Any:
        if self._agent is None:
            from twisted.web.client import Agent

            reactor = self.reactor
            if reactor is None:
                from twisted.internet import reactor  # type: ignore[no-redef]
            self._agent = Agent(reactor, contextFactory=_Policy(self.client_config.get("caBundle")))
        return self._agent

    def _webhook(self, objects: List[dict], api_version: str) -> Deferred:
        source = objects[0].get("apiVersion") or ""

        def name_source(failure: Any) -> Any:
            error = failure.value
            if isinstance(error, ConversionError) and error.message.startswith(
                    "conversion webhook for "):
                raise self._error(error.message.split(" failed: ", 1)[1], source)
            return failure

        return self._call_webhook(objects, api_version).addErrback(name_source)

    @inlineCallbacks
    def _call_webhook(self, objects: List[dict], api_version: str):
        import treq

        if not self.review_version:
            raise self._error("no supported conversionReviewVersions (v1, v1beta1)")
        uid = str(uuid.uuid4())
        review_api = f"apiextensions.k8s.io/{self.review_version}"
        review = {"kind": "ConversionReview", "apiVersion": review_api,
                  "request": {"uid": uid, "desiredAPIVersion": api_version,
                              "objects": objects}}
        url = webhook_url(self.client_config)
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor  # type: ignore[no-redef]
        try:
            response = yield treq.request(
                "POST", url, data=json.dumps(review, separators=(",", ":")).encode(),
                headers={b"Content-Type": [b"application/json"],
                         b"Accept": [b"application/json"]},
                agent=self._agent_for(), timeout=self.timeout, reactor=reactor)
            body = yield response.content()
        except Exception as e:
            raise self._error(f"Post {json.dumps(url)}: {_describe(e)}")
        if response.code != 200:
            raise self._error(f"the server responded with the status code {response.code}")
        try:
            answer = json.loads(body)
        except ValueError as e:
            raise self._error(f"unable to decode the response: {e}")
        result = (answer or {}).get("response") or {}
        if result.get("uid") != uid:
            raise self._error(
                f"expected response uid {json.dumps(uid)}, got {json.dumps(result.get('uid'))}")
        status = result.get("result") or {}
        if status.get("status") != "Success":
            raise self._error(status.get("message") or "webhook did not report success")
        converted = result.get("convertedObjects")
        if not isinstance(converted, list) or len(converted) != len(objects):
            raise self._error(
                f"expected {len(objects)} converted objects, got "
                f"{len(converted) if isinstance(converted, list) else 0}")
        out = []
        for original, obj in zip(objects, converted):
            if not isinstance(obj, dict):
                raise self._error("converted object is not an object")
            if obj.get("apiVersion") != api_version:
                raise self._error(
                    f"invalid converted object: expected apiVersion {json.dumps(api_version)}, "
                    f"got {json.dumps(obj.get('apiVersion'))}")
            if obj.get("kind") != original.get("kind"):
                raise self._error(
                    f"invalid converted object: expected kind {json.dumps(original.get('kind'))}"
                    f", got {json.dumps(obj.get('kind'))}")
            out.append(_restore_metadata(original, obj))
        return out


def _describe(error: Exception) -> str:
    from twisted.web._newclient import ResponseNeverReceived

    if isinstance(error, ResponseNeverReceived):
        reasons = [_describe(r.value) for r in error.reasons]
        return "; ".join(reasons) or "no response"
    text = str(error) or type(error).__name__
    if "certificate verify failed" in text:
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    return text


try:
    from twisted.web.iweb import IPolicyForHTTPS
except ImportError:  # pragma: no cover
    IPolicyForHTTPS = None  # type: ignore[assignment]


@implementer(IPolicyForHTTPS)
class _Policy:
    """TLS for the webhook: verified against C{caBundle} (base64 PEM), else the system roots."""

    def __init__(self, ca_bundle: Optional[str]) -> None:
        self._trust: Any = None
        if ca_bundle:
            from twisted.internet import ssl

            pem = base64.b64decode(ca_bundle)
            certs = [ssl.Certificate.loadPEM(b"-----BEGIN CERTIFICATE-----" + part)
                     for part in pem.split(b"-----BEGIN CERTIFICATE-----")[1:]]
            self._trust = ssl.trustRootFromCertificates(certs)

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        from twisted.internet import ssl

        host = hostname.decode("ascii")
        if self._trust is None:
            return ssl.optionsForClientTLS(host)
        return ssl.optionsForClientTLS(host, trustRoot=self._trust)
