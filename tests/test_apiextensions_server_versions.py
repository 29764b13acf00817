"""
Versions of custom resources: cluster scope, a storage version that moves
(C{status.storedVersions} kept), conversion with strategy None, and the
storage codec keeping watch events in order when conversion is slow.
"""

from __future__ import annotations

import copy

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apiextensions._codec import VersionedStorage
from kapi_twisted.apiextensions.conversion import Converter
from kapi_twisted.registry import _encoding
from tests._apiextensions_helpers import CRD_PATH, Harness, crontab, crontab_crd

CT = "/apis/stable.example.com/v1/namespaces/default/crontabs"


def _two_versions(storage: str = "v1") -> dict:
    crd = crontab_crd()
    v2 = copy.deepcopy(crd["spec"]["versions"][0])
    v2["name"] = "v2"
    crd["spec"]["versions"].append(v2)
    for v in crd["spec"]["versions"]:
        v["storage"] = v["name"] == storage
    return crd


class ScopeTests(SynchronousTestCase):
    def test_cluster_scoped_resource(self) -> None:
        """A cluster-scoped CRD serves /apis/<g>/<v>/<plural>/<name>; a namespaced path does not."""
        h = Harness(self)
        h.create_crd(crontab_crd(scope="Cluster"))
        path = "/apis/stable.example.com/v1/crontabs"
        answer = h.request("POST", path, crontab("global"))
        self.assertEqual(answer.code, 201, answer.body)
        self.assertNotIn("namespace", answer.json["metadata"])
        self.assertEqual(h.get(path + "/global").code, 200)
        self.assertEqual(h.stored("/registry/stable.example.com/crontabs/global")["kind"],
                         "CronTab")
        self.assertEqual(h.get(CT).body, b"404 page not found\n")


class StorageVersionTests(SynchronousTestCase):
    def test_storage_version_moves(self) -> None:
        """Moving the storage version appends to storedVersions; new writes use it."""
        h = Harness(self)
        h.create_crd(_two_versions("v1"))
        h.request("POST", CT, crontab("old"))
        crd = h.crd("crontabs.stable.example.com")
        for v in crd["spec"]["versions"]:
            v["storage"] = v["name"] == "v2"
        answer = h.request("PUT", f"{CRD_PATH}/crontabs.stable.example.com", crd)
        self.assertEqual(answer.code, 200, answer.body)
        h.turn()
        self.assertEqual(h.crd("crontabs.stable.example.com")["status"]["storedVersions"],
                         ["v1", "v2"])
        h.request("POST", CT, crontab("new"))
        self.assertEqual(h.stored("/registry/stable.example.com/crontabs/default/new")[
            "apiVersion"], "stable.example.com/v2")
        self.assertEqual(h.stored("/registry/stable.example.com/crontabs/default/old")[
            "apiVersion"], "stable.example.com/v1")
        items = h.get(CT).json["items"]
        self.assertEqual({i["apiVersion"] for i in items}, {"stable.example.com/v1"})
        items = h.get("/apis/stable.example.com/v2/namespaces/default/crontabs").json["items"]
        self.assertEqual({i["apiVersion"] for i in items}, {"stable.example.com/v2"})


class ConverterTests(SynchronousTestCase):
    def test_none_strategy_rewrites_api_version(self) -> None:
        """Strategy None changes apiVersion only, leaving objects at the target alone."""
        converter = Converter(_two_versions())
        at_v1 = {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "spec": {"a": 1}}
        at_v2 = dict(at_v1, apiVersion="stable.example.com/v2")
        out = self.successResultOf(converter.convert([at_v1, at_v2], "stable.example.com/v2"))
        self.assertEqual(out[0], dict(at_v1, apiVersion="stable.example.com/v2"))
        self.assertIs(out[1], at_v2)
        self.assertEqual(at_v1["apiVersion"], "stable.example.com/v1")


class _SlowConverter:
    """Converts when the test says so, in any order."""

    def __init__(self) -> None:
        self.pending = []

    def convert(self, objects, api_version):
        d: Deferred = Deferred()
        self.pending.append((d, [dict(o, apiVersion=api_version) for o in objects]))
        return d


class _FakeWatch:
    def __init__(self, on_event):
        self.on_event = on_event
        self.done: Deferred = Deferred()
        self.revision = 0

    def stop(self):
        if not self.done.called:
            self.done.callback(None)


class _Inner:
    def __init__(self):
        self.watches = []

    def watch(self, prefix, after, on_event, on_progress=None):
        w = _FakeWatch(on_event)
        self.watches.append(w)
        return w


class CodecTests(SynchronousTestCase):
    def test_watch_events_keep_their_order(self) -> None:
        """Events whose conversion finishes out of order still reach the watcher in order."""
        from kapi_twisted.storage import interface as st

        inner = _Inner()
        converter = _SlowConverter()
        storage = VersionedStorage(inner, converter, "g/v2", "g/v1")
        seen = []
        storage.watch("/registry/g/things/", 0, lambda e: seen.append(
            (e.type, e.kv.object["metadata"]["name"], e.kv.object["apiVersion"])))
        source = inner.watches[0]
        for rev, name in ((5, "a"), (6, "b")):
            obj = {"apiVersion": "g/v1", "kind": "Thing", "metadata": {"name": name}}
            source.on_event(st.Event(st.ADDED, st.KeyValue(
                f"/registry/g/things/{name}", _encoding.encode(obj), rev, rev)))
        # Only the first conversion has been asked for; answer it after a delay.
        self.assertEqual(len(converter.pending), 1)
        d, objs = converter.pending.pop(0)
        d.callback(objs)
        d, objs = converter.pending.pop(0)
        d.callback(objs)
        self.assertEqual(seen, [("ADDED", "a", "g/v2"), ("ADDED", "b", "g/v2")])

    def test_failed_conversion_ends_the_watch(self) -> None:
        """A conversion failure ends the watch with that failure (an ERROR event upstream)."""
        from kapi_twisted.storage import interface as st

        inner = _Inner()
        converter = _SlowConverter()
        storage = VersionedStorage(inner, converter, "g/v2", "g/v1")
        w = storage.watch("/registry/g/things/", 0, lambda e: None)
        obj = {"apiVersion": "g/v1", "kind": "Thing", "metadata": {"name": "a"}}
        inner.watches[0].on_event(st.Event(st.ADDED, st.KeyValue(
            "/registry/g/things/a", _encoding.encode(obj), 5, 5)))
        converter.pending[0][0].errback(RuntimeError("webhook down"))
        self.failureResultOf(w.done, RuntimeError)
        self.assertTrue(inner.watches[0].done.called)


class VersionOrderTests(SynchronousTestCase):
    def test_kube_version_priority(self) -> None:
        """Versions sort as kube documents: GA, beta, alpha (newest first), then the rest."""
        from kapi_twisted.apiextensions._crd import sort_versions

        self.assertEqual(
            sort_versions(["foo10", "v1", "v11alpha2", "v10beta3", "v2", "foo1", "v3beta1",
                           "v12alpha1", "v11beta2", "v10"]),
            ["v10", "v2", "v1", "v11beta2", "v10beta3", "v3beta1", "v12alpha1", "v11alpha2",
             "foo1", "foo10"])
