"""
End to end with the real kubectl: what a client reads back after a write
carries kube-apiserver's defaults and per-kind rules (Deployments, pods,
Jobs, Secrets' stringData), and Services get cluster IPs and NodePorts that
are unique, freed on delete and refused when taken.
"""

from __future__ import annotations

import ipaddress
import json
import os

from twisted.internet import defer

from tests._e2e import ServerTestCase

SECRET = """
apiVersion: v1
kind: Secret
metadata: {name: applied}
stringData: {user: admin}
data: {token: dG9rZW4=}
"""

SECRET_CHANGED = """
apiVersion: v1
kind: Secret
metadata: {name: applied}
stringData: {user: root}
"""


class WorkloadDefaultsTests(ServerTestCase):

    @defer.inlineCallbacks
    def test_create_deployment_reads_back_defaults(self):
        """kubectl create deployment, then -o yaml shows kube's defaults."""
        yield self.kubectl("create", "deployment", "web", "--image=nginx")
        out, _, _ = yield self.kubectl("get", "deployment", "web", "-o", "yaml")
        for line in ("progressDeadlineSeconds: 600", "revisionHistoryLimit: 10",
                     "maxSurge: 25%", "maxUnavailable: 25%", "type: RollingUpdate",
                     "restartPolicy: Always", "dnsPolicy: ClusterFirst",
                     "schedulerName: default-scheduler", "terminationGracePeriodSeconds: 30",
                     "imagePullPolicy: Always", "terminationMessagePath: /dev/termination-log",
                     "terminationMessagePolicy: File", "resources: {}", "securityContext: {}",
                     "status: {}", "generation: 1"):
            self.assertIn(line, out)

    @defer.inlineCallbacks
    def test_run_gives_pending_best_effort_pod(self):
        """kubectl run: a Pending BestEffort pod with its token volume and tolerations."""
        yield self.kubectl("run", "p", "--image=busybox:1.36")
        pod = yield self.get_json("pod", "p")
        self.assertEqual(pod["status"], {"phase": "Pending", "qosClass": "BestEffort"})
        self.assertEqual(pod["metadata"]["generation"], 1)
        spec = pod["spec"]
        container = spec["containers"][0]
        self.assertEqual(container["imagePullPolicy"], "IfNotPresent")
        self.assertEqual(container["volumeMounts"][0]["mountPath"],
                         "/var/run/secrets/kubernetes.io/serviceaccount")
        self.assertTrue(spec["volumes"][0]["name"].startswith("kube-api-access-"))
        self.assertEqual((spec["serviceAccountName"], spec["priority"], spec["enableServiceLinks"]),
                         ("default", 0, True))
        self.assertEqual([t["key"] for t in spec["tolerations"]],
                         ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])
        out, _, _ = yield self.kubectl("get", "pod", "p")
        self.assertIn("Pending", out)

    @defer.inlineCallbacks
    def test_create_job_has_generated_selector(self):
        """kubectl create job: the controller-uid selector and labels, restartPolicy Never."""
        yield self.kubectl("create", "job", "j", "--image=busybox")
        job = yield self.get_json("job", "j")
        uid = job["metadata"]["uid"]
        self.assertEqual(job["spec"]["selector"],
                         {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
            self.assertEqual((labels["controller-uid"], labels["job-name"],
                              labels["batch.kubernetes.io/job-name"]), (uid, "j", "j"))
        self.assertEqual((job["spec"]["backoffLimit"], job["spec"]["completions"],
                          job["spec"]["template"]["spec"]["restartPolicy"]), (6, 1, "Never"))

    @defer.inlineCallbacks
    def test_secret_string_data_becomes_data(self):
        """Secrets from kubectl create and from apply with stringData end as base64 data."""
        yield self.kubectl("create", "secret", "generic", "s", "--from-literal=a=b")
        secret = yield self.get_json("secret", "s")
        self.assertEqual((secret["data"], secret["type"]), ({"a": "Yg=="}, "Opaque"))
        yield self.kubectl("apply", "-f", "-", stdin=SECRET)
        secret = yield self.get_json("secret", "applied")
        self.assertEqual(secret["data"], {"token": "dG9rZW4=", "user": "YWRtaW4="})
        self.assertNotIn("stringData", secret)
        yield self.kubectl("apply", "-f", "-", stdin=SECRET_CHANGED)
        secret = yield self.get_json("secret", "applied")
        self.assertEqual(secret["data"], {"user": "cm9vdA=="})
        self.assertNotIn("stringData", secret)


class ServiceAllocationE2ETests(ServerTestCase):

    @defer.inlineCallbacks
    def cluster_ip(self, name):
        svc = yield self.get_json("service", name)
        return svc["spec"]["clusterIP"]

    @defer.inlineCallbacks
    def test_services_get_unique_ips_and_ports(self):
        """create service / expose: unique IPs of 10.0.0.0/24; NodePorts in 30000-32767."""
        kubernetes = yield self.cluster_ip("kubernetes")
        self.assertEqual(kubernetes, "10.0.0.1")
        yield self.kubectl("create", "service", "clusterip", "s", "--tcp=80:8080")
        yield self.kubectl("create", "deployment", "web", "--image=nginx")
        yield self.kubectl("expose", "deployment", "web", "--port=80")
        yield self.kubectl("create", "service", "nodeport", "np", "--tcp=80:8080")
        services = yield self.get_json("services")
        ips = [s["spec"]["clusterIP"] for s in services["items"]]
        self.assertEqual(len(set(ips)), 4)
        network = ipaddress.ip_network("10.0.0.0/24")
        for s in services["items"]:
            spec = s["spec"]
            self.assertIn(ipaddress.ip_address(spec["clusterIP"]), network)
            self.assertEqual(spec["clusterIPs"], [spec["clusterIP"]])
            self.assertEqual(spec["ipFamilies"], ["IPv4"])
            if s["metadata"]["name"] != "kubernetes":
                self.assertNotEqual(spec["clusterIP"], "10.0.0.1")
        np = yield self.get_json("service", "np")
        self.assertTrue(30000 <= np["spec"]["ports"][0]["nodePort"] <= 32767)
        out, _, _ = yield self.kubectl("get", "service", "np")
        self.assertIn("80:%d/TCP" % np["spec"]["ports"][0]["nodePort"], out)

    @defer.inlineCallbacks
    def test_taken_ip_refused_and_freed_on_delete(self):
        """A taken cluster IP is refused with kube's message; deleting its Service frees it."""
        yield self.kubectl("create", "service", "clusterip", "a", "--tcp=80",
                           "--clusterip=10.0.0.77")
        _, err, code = yield self.kubectl("create", "service", "clusterip", "b", "--tcp=80",
                                          "--clusterip=10.0.0.77", ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn('Service "b" is invalid: spec.clusterIPs: Invalid value: ["10.0.0.77"]: '
                      "failed to allocate IP 10.0.0.77: provided IP is already allocated", err)
        _, err, code = yield self.kubectl("create", "service", "clusterip", "k", "--tcp=80",
                                          "--clusterip=10.0.0.1", ok=False)
        self.assertIn("provided IP is already allocated", err)
        yield self.kubectl("delete", "service", "a")
        yield self.kubectl("create", "service", "clusterip", "b", "--tcp=80",
                           "--clusterip=10.0.0.77")
        self.assertEqual((yield self.cluster_ip("b")), "10.0.0.77")


    @defer.inlineCallbacks
    def test_put_create_reserves_before_validating(self):
        """A PUT creating a Service with a taken IP and a bad label gets the IP error first, as a POST does (kube's order)."""
        yield self.kubectl("create", "service", "clusterip", "a", "--tcp=80",
                           "--clusterip=10.0.0.77")
        body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "c", "labels": {"bad label": "x"}}, "spec": {
            "clusterIP": "10.0.0.77", "ports": [{"port": 80}]}})
        for verb in ("create", "replace"):
            _, err, code = yield self.kubectl(verb, "-f", "-", stdin=body, ok=False)
            self.assertNotEqual(code, 0)
            self.assertIn("failed to allocate IP 10.0.0.77: provided IP is already allocated", err)
            self.assertNotIn("metadata.labels", err)
        _, err, code = yield self.kubectl("get", "service", "c", ok=False)
        self.assertIn("NotFound", err)


class ServiceRestartE2ETests(ServerTestCase):
    """On SQLite a restarted server knows which addresses the stored Services hold."""

    def settings(self):
        return {"data_dir": os.path.join(self.dir, "data"), "storage_backend": "sqlite"}

    @defer.inlineCallbacks
    def test_restart_keeps_allocations(self):
        """Services created before and after a restart never share an IP or NodePort."""
        for i in range(8):
            yield self.kubectl("create", "service", "nodeport", f"a{i}", "--tcp=80")
        yield self.server.stop()
        yield self.start_server(**self.settings())
        for i in range(8):
            yield self.kubectl("create", "service", "nodeport", f"b{i}", "--tcp=80")
        services = yield self.get_json("services")
        ips = [s["spec"]["clusterIP"] for s in services["items"]]
        ports = [s["spec"]["ports"][0]["nodePort"] for s in services["items"]
                 if s["metadata"]["name"] != "kubernetes"]
        self.assertEqual((len(ips), len(set(ips)), len(set(ports))), (17, 17, 16))
        _, err, _ = yield self.kubectl("create", "service", "clusterip", "c", "--tcp=80",
                                       "--clusterip=" + ips[1], ok=False)
        self.assertIn("provided IP is already allocated", err)


class ServiceAccountE2ETests(ServerTestCase):
    """With kube-controller-manager's controllers running, pods name real ServiceAccounts."""

    @defer.inlineCallbacks
    def test_run_in_new_namespace(self):
        """kubectl run right after create namespace succeeds: the pod waits for 'default'."""
        for i in range(3):
            yield self.kubectl("create", "namespace", f"fresh{i}")
            yield self.kubectl("run", "p", "-n", f"fresh{i}", "--image=busybox:1.36")
            pod = yield self.get_json("pod", "p", "-n", f"fresh{i}")
            self.assertEqual(pod["spec"]["serviceAccountName"], "default")

    @defer.inlineCallbacks
    def test_missing_service_account_forbidden(self):
        """A pod naming a missing ServiceAccount is refused with kube's 403 message."""
        _, err, code = yield self.kubectl("run", "p", "--image=busybox:1.36",
                                          "--overrides",
                                          '{"spec": {"serviceAccountName": "robot"}}', ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn('pods "p" is forbidden: error looking up service account default/robot: '
                      'serviceaccount "robot" not found', err)
        yield self.kubectl("create", "serviceaccount", "robot")
        yield self.kubectl("run", "p", "--image=busybox:1.36",
                           "--overrides", '{"spec": {"serviceAccountName": "robot"}}')
