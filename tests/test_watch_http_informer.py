"""
An informer's view (list, then watch from the list's resourceVersion) over
real TLS with the kubernetes Python client: every write seen exactly once, in
order, including across a restart of the server on the embedded store.
"""

from __future__ import annotations

import os

from twisted.internet import defer, threads

from tests._e2e import ServerTestCase


def _client(kubeconfig: str):
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(kubeconfig))


def _create(v1, names):
    for name in names:
        v1.create_namespaced_config_map("default", {"metadata": {"name": name}})


def _ours(name: str) -> bool:
    """Not the kube-root-ca.crt ConfigMap the controllers keep in every namespace."""
    return name != "kube-root-ca.crt"


def _watch_from(v1, rv: str):
    from kubernetes import watch

    seen = []
    for event in watch.Watch().stream(v1.list_namespaced_config_map, "default",
                                      resource_version=rv, timeout_seconds=1):
        if not _ours(event["object"].metadata.name):
            continue
        seen.append((event["type"], event["object"].metadata.name,
                     event["object"].metadata.resource_version))
    return seen


class InformerTests(ServerTestCase):
    needs_kubectl = False

    def settings(self):
        return {"data_dir": os.path.join(self.dir, "data"), "storage_backend": "sqlite"}

    @defer.inlineCallbacks
    def test_list_then_watch_across_restart(self):
        """Writes after the list's resourceVersion arrive once each, in order, before and after a restart."""
        v1 = _client(self.server.kubeconfig)
        yield threads.deferToThread(_create, v1, ["a0", "a1"])
        listed = yield threads.deferToThread(v1.list_namespaced_config_map, "default")
        rv = listed.metadata.resource_version
        self.assertEqual(sorted(i.metadata.name for i in listed.items if _ours(i.metadata.name)),
                         ["a0", "a1"])
        yield threads.deferToThread(_create, v1, ["b0", "b1", "b2"])
        seen = yield threads.deferToThread(_watch_from, v1, rv)
        self.assertEqual([(t, n) for t, n, _ in seen],
                         [("ADDED", "b0"), ("ADDED", "b1"), ("ADDED", "b2")])
        last_rv = seen[-1][2]
        yield self.server.stop()

        yield self.start_server(**self.settings())
        v1 = _client(self.server.kubeconfig)
        yield threads.deferToThread(_create, v1, ["c0"])
        yield threads.deferToThread(v1.delete_namespaced_config_map, "b1", "default")
        seen = yield threads.deferToThread(_watch_from, v1, last_rv)
        self.assertEqual([(t, n) for t, n, _ in seen], [("ADDED", "c0"), ("DELETED", "b1")])
