"""
An APIExtensions server in memory for tests: the real CRD store, custom
resource serving and controllers over the memory storage, driven by a
C{Clock}, reached with treq's C{StubTreq} (a real HTTP client over the
server's resource tree, no sockets).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, Optional, Tuple

from twisted.internet.task import Clock
from treq.testing import StubTreq

from kapi_twisted.apiextensions.server import INFORMERS_HOOK, install_apiextensions
from kapi_twisted.config import ServerConfig
from kapi_twisted.server.generic import GenericAPIServer
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.storage.memory import MemoryStorage

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def crontab_crd(**changes: Any) -> Dict[str, Any]:
    """A namespaced C{crontabs.stable.example.com} CRD with status, scale and columns."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab",
                      "shortNames": ["ct"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas",
                    "labelSelectorPath": ".status.selector"}},
                "additionalPrinterColumns": [
                    {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "properties": {
                            "cronSpec": {"type": "string"},
                            "image": {"type": "string", "default": "busybox"},
                            "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                            "owner": {"type": "string", "x-kubernetes-validations": [
                                {"rule": "self == oldSelf", "message": "owner is immutable"}]},
                        }},
                        "status": {"type": "object", "properties": {
                            "replicas": {"type": "integer"},
                            "selector": {"type": "string"},
                            "phase": {"type": "string"}}},
                    }}},
            }],
        },
    }
    crd["spec"].update(changes)
    return crd


def crontab(name: str = "my-ct", **spec: Any) -> Dict[str, Any]:
    body = {"cronSpec": "* * * * */5", "replicas": 2}
    body.update(spec)
    return {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": name}, "spec": body}


class Answer:
    def __init__(self, code: int, headers: Any, body: bytes) -> None:
        self.code = code
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    def headers_named(self, name: str):
        return self.headers.getRawHeaders(name) or []


class Harness:
    """A started APIExtensions server on a memory store, with a clock to turn."""

    def __init__(self, testcase: Any) -> None:
        self.testcase = testcase
        self.clock = Clock()
        self.storage = MemoryStorage(self.clock)
        self.storage.start()
        lifecycle = LifecycleSignals()
        lifecycle.mux_and_discovery_complete.fire()
        self.server = GenericAPIServer("apiextensions-apiserver", None, lifecycle, self.clock)
        self.ext = install_apiextensions(self.server, self.storage,
                                         ServerConfig(port="ssl:7443"), clock=self.clock)
        hook = self.server.all_post_start_hooks()[INFORMERS_HOOK].hook
        self.wait(hook(None))
        self.stub = StubTreq(self.server.root)

    def turn(self, seconds: float = 0.0) -> None:
        for _ in range(20):
            self.clock.advance(0)
        if seconds:
            self.clock.advance(seconds)
            for _ in range(20):
                self.clock.advance(0)

    def wait(self, d: Any) -> Any:
        results = []
        d.addBoth(results.append)
        for _ in range(200):
            if results:
                break
            self.clock.advance(0)
            if hasattr(self, "stub"):
                self.stub.flush()
        if not results:
            raise AssertionError("no answer")
        result = results[0]
        if hasattr(result, "raiseException"):
            result.raiseException()
        return result

    def request(self, method: str, path: str, body: Any = None,
                headers: Optional[Dict[str, str]] = None) -> Answer:
        hdrs = {k: [v] for k, v in (headers or {}).items()}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", ["application/json"])
        d = self.stub.request(method, "https://kapi.test" + path, data=data, headers=hdrs)
        response = self.wait(d)
        content = self.wait(response.content())
        self.turn()
        return Answer(response.code, response.headers, content)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def create_crd(self, crd: Optional[dict] = None) -> dict:
        answer = self.request("POST", CRD_PATH, crd or crontab_crd())
        self.testcase.assertEqual(answer.code, 201, answer.body)
        self.turn()
        return self.crd(answer.json["metadata"]["name"])

    def crd(self, name: str) -> dict:
        answer = self.get(f"{CRD_PATH}/{name}")
        self.testcase.assertEqual(answer.code, 200, answer.body)
        return answer.json

    def stored(self, key: str) -> dict:
        kv = self.wait(self.storage.get(key))
        return copy.deepcopy(kv.object)


def condition(crd: dict, type_: str) -> Tuple[str, str, str]:
    for c in (crd.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"], c.get("reason", ""), c.get("message", "")
    return ("", "", "")
