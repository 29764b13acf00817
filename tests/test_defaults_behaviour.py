"""
Per-kind write hooks (L{kapi_twisted.registry.typebehaviour}): what a create
or an update of a built-in kind adds beyond defaulting, as kube-apiserver's
strategies and default admission plugins do.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any, Dict, Optional

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry import typebehaviour as tb


def info(group: str, version: str, kind: str) -> Any:
    return SimpleNamespace(group=group, version=version, kind=kind)


POD = info("", "v1", "Pod")
JOB = info("batch", "v1", "Job")
NAMESPACE = info("", "v1", "Namespace")
SERVICE = info("", "v1", "Service")
SECRET = info("", "v1", "Secret")
DEPLOYMENT = info("apps", "v1", "Deployment")


def pod(spec: Dict[str, Any], name: str = "p") -> Dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def container(**resources: Any) -> Dict[str, Any]:
    return {"name": "c", "image": "nginx", "resources": resources}


class PodCreateTests(SynchronousTestCase):

    def create(self, obj: Dict[str, Any], **context: Any) -> Dict[str, Any]:
        context.setdefault("rng", random.Random(7))
        tb.prepare_for_create(POD, obj, tb.CreateContext(**context))
        return obj

    def test_kubectl_run(self) -> None:
        """`kubectl run nginx --image=nginx` reads back as from a real cluster."""
        out = self.create(pod({"containers": [{"name": "nginx", "image": "nginx",
                                                "resources": {}}]}, name="nginx"))
        spec = out["spec"]
        volume = spec["volumes"][0]["name"]
        self.assertRegex(volume, r"^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual(spec, {
            "containers": [{
                "image": "nginx", "imagePullPolicy": "Always", "name": "nginx",
                "resources": {}, "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": volume, "readOnly": True}],
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                 "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                 "operator": "Exists", "tolerationSeconds": 300},
            ],
            "volumes": [{"name": volume, "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                               "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                                         "fieldPath": "metadata.namespace"},
                                            "path": "namespace"}]}},
            ]}}],
        })
        self.assertEqual(out["status"], {"phase": "Pending", "qosClass": "BestEffort"})

    def test_no_automount(self) -> None:
        """automountServiceAccountToken: false (pod or account) mounts nothing."""
        out = self.create(pod({"automountServiceAccountToken": False,
                               "containers": [container()]}))
        self.assertNotIn("volumes", out["spec"])
        self.assertNotIn("volumeMounts", out["spec"]["containers"][0])
        accounts = {("default", "quiet"): {"automountServiceAccountToken": False}}
        out = self.create(pod({"serviceAccountName": "quiet", "containers": [container()]}),
                          service_account=lambda ns, name: accounts.get((ns, name)))
        self.assertNotIn("volumes", out["spec"])

    def test_existing_mount_kept(self) -> None:
        """A container that already mounts the token path gets no second mount."""
        mine = {"name": "own", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
        out = self.create(pod({"containers": [dict(container(), volumeMounts=[mine])],
                               "initContainers": [dict(container(), name="init")]}))
        self.assertEqual(out["spec"]["containers"][0]["volumeMounts"], [mine])
        self.assertEqual(len(out["spec"]["initContainers"][0]["volumeMounts"]), 1)
        self.assertEqual(len(out["spec"]["volumes"]), 1)

    def test_missing_service_account(self) -> None:
        """A pod naming a missing ServiceAccount is forbidden, as kube says it."""
        with self.assertRaises(APIError) as caught:
            self.create(pod({"serviceAccountName": "ghost", "containers": [container()]}),
                        service_account=lambda ns, name: None)
        self.assertEqual(caught.exception.code, 403)
        self.assertEqual(caught.exception.message,
                         'pods "p" is forbidden: error looking up service account '
                         'default/ghost: serviceaccount "ghost" not found')

    def test_image_pull_secrets_from_account(self) -> None:
        """A pod without imagePullSecrets takes its ServiceAccount's."""
        account = {"imagePullSecrets": [{"name": "registry"}]}
        out = self.create(pod({"containers": [container()]}),
                          service_account=lambda ns, name: account)
        self.assertEqual(out["spec"]["imagePullSecrets"], [{"name": "registry"}])

    def test_tolerations_not_duplicated(self) -> None:
        """A pod tolerating everything NoExecute gets no default tolerations."""
        mine = [{"operator": "Exists", "effect": "NoExecute"}]
        out = self.create(pod({"tolerations": list(mine), "containers": [container()]}))
        self.assertEqual(out["spec"]["tolerations"], mine)
        mine = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]
        out = self.create(pod({"tolerations": list(mine), "containers": [container()]}))
        self.assertEqual([t["key"] for t in out["spec"]["tolerations"]],
                         ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"])

    def test_priority(self) -> None:
        """System classes resolve; unknown classes and a mismatching priority are refused."""
        out = self.create(pod({"priorityClassName": "system-node-critical",
                               "containers": [container()]}))
        self.assertEqual(out["spec"]["priority"], 2000001000)
        classes = {"batch-low": {"value": -5, "preemptionPolicy": "Never"}}
        out = self.create(pod({"priorityClassName": "batch-low", "containers": [container()]}),
                          priority_class=classes.get)
        self.assertEqual((out["spec"]["priority"], out["spec"]["preemptionPolicy"]),
                         (-5, "Never"))
        with self.assertRaises(APIError) as caught:
            self.create(pod({"priorityClassName": "nope", "containers": [container()]}))
        self.assertEqual(caught.exception.message,
                         'pods "p" is forbidden: no PriorityClass with name nope was found')
        with self.assertRaises(APIError) as caught:
            self.create(pod({"priority": 7, "containers": [container()]}))
        self.assertIn("the integer value of priority (7) must not be provided in pod spec; "
                      "priority admission controller computed 0", caught.exception.message)

    def test_global_default_priority_class(self) -> None:
        """A globalDefault class names itself on pods without one."""
        default_class = {"metadata": {"name": "normal"}, "value": 100}
        out = self.create(pod({"containers": [container()]}),
                          default_priority_class=lambda: default_class)
        self.assertEqual((out["spec"]["priorityClassName"], out["spec"]["priority"]),
                         ("normal", 100))

    def test_scheduling_gates(self) -> None:
        """A gated pod starts with a PodScheduled=False SchedulingGated condition."""
        out = self.create(pod({"schedulingGates": [{"name": "wait"}],
                               "containers": [container()]}), now="2026-01-02T03:04:05Z")
        self.assertEqual(out["status"]["conditions"], [{
            "type": "PodScheduled", "status": "False", "lastProbeTime": None,
            "lastTransitionTime": "2026-01-02T03:04:05Z", "reason": "SchedulingGated",
            "message": "Scheduling is blocked due to non-empty scheduling gates"}])

    def test_generation(self) -> None:
        """A new pod has generation 1, as pods track it since 1.33."""
        self.assertEqual(self.create(pod({"containers": [container()]}))["metadata"]["generation"],
                         1)

    def test_client_status_replaced(self) -> None:
        """Whatever status a client sends, a new pod is Pending."""
        obj = pod({"containers": [container()]})
        obj["status"] = {"phase": "Running", "podIP": "1.2.3.4"}
        self.assertEqual(self.create(obj)["status"]["phase"], "Pending")


class QoSTests(SynchronousTestCase):

    def test_classes(self) -> None:
        """QoS classes as kube computes them, comparing quantities by value."""
        cases = [
            ([container()], "BestEffort"),
            ([container(requests={"cpu": "100m"})], "Burstable"),
            ([container(limits={"cpu": "1", "memory": "1Gi"})], "Guaranteed"),
            ([container(limits={"cpu": "1", "memory": "1Gi"},
                        requests={"cpu": "1000m", "memory": "1024Mi"})], "Guaranteed"),
            ([container(limits={"cpu": "1", "memory": "1Gi"}, requests={"cpu": "500m"})],
             "Burstable"),
            ([container(limits={"cpu": "1", "memory": "1Gi"}), container()], "Burstable"),
            ([container(limits={"nvidia.com/gpu": "1"})], "BestEffort"),
            ([container(requests={"cpu": "0"})], "BestEffort"),
        ]
        for containers, expected in cases:
            obj = pod({"containers": containers})
            tb.prepare_for_create(POD, obj, tb.CreateContext(mount_service_account_token=False))
            self.assertEqual(obj["status"]["qosClass"], expected, containers)

    def test_init_containers_count(self) -> None:
        """An init container without limits makes a pod Burstable."""
        spec = {"containers": [container(limits={"cpu": "1", "memory": "1Gi"})],
                "initContainers": [container(requests={"cpu": "1"})]}
        self.assertEqual(tb.pod_qos_class(spec), "Burstable")

    def test_pod_level_resources(self) -> None:
        """Pod-level resources decide the class when set."""
        spec = {"resources": {"limits": {"cpu": "2", "memory": "2Gi"}},
                "containers": [container()]}
        obj = pod(spec)
        tb.prepare_for_create(POD, obj, tb.CreateContext(mount_service_account_token=False))
        self.assertEqual(obj["spec"]["resources"]["requests"], {"cpu": "2", "memory": "2Gi"})
        self.assertEqual(obj["status"]["qosClass"], "Guaranteed")


class OtherKindTests(SynchronousTestCase):

    def test_job_selector(self) -> None:
        """A new Job selects its own uid and labels its pods and itself with name and uid."""
        obj = {"metadata": {"name": "pi", "uid": "1234"}, "spec": {
            "template": {"spec": {"containers": [container()], "restartPolicy": "Never"}}}}
        tb.prepare_for_create(JOB, obj)
        labels = {"batch.kubernetes.io/controller-uid": "1234",
                  "batch.kubernetes.io/job-name": "pi",
                  "controller-uid": "1234", "job-name": "pi"}
        self.assertEqual(obj["spec"]["selector"],
                         {"matchLabels": {"batch.kubernetes.io/controller-uid": "1234"}})
        self.assertEqual(obj["spec"]["template"]["metadata"]["labels"], labels)
        self.assertEqual(obj["metadata"]["labels"], labels)
        self.assertEqual(obj["status"], {})

    def test_job_manual_selector(self) -> None:
        """manualSelector: true leaves selector and labels to the client."""
        obj = {"metadata": {"name": "m", "uid": "9", "labels": {"team": "a"}}, "spec": {
            "manualSelector": True, "selector": {"matchLabels": {"app": "m"}},
            "template": {"metadata": {"labels": {"app": "m"}}, "spec": {}}}}
        tb.prepare_for_create(JOB, obj)
        self.assertEqual(obj["spec"]["selector"], {"matchLabels": {"app": "m"}})
        self.assertEqual(obj["spec"]["template"]["metadata"]["labels"], {"app": "m"})
        self.assertEqual(obj["metadata"]["labels"], {"team": "a"})

    def test_namespace(self) -> None:
        """A namespace starts Active with the kubernetes finalizer, which updates cannot drop."""
        obj = {"metadata": {"name": "team"}, "status": {"phase": "Terminating"}}
        tb.prepare_for_create(NAMESPACE, obj)
        self.assertEqual(obj["spec"], {"finalizers": ["kubernetes"]})
        self.assertEqual(obj["status"], {"phase": "Active"})
        self.assertEqual(obj["metadata"]["labels"], {"kubernetes.io/metadata.name": "team"})
        new = {"metadata": {"name": "team"}, "spec": {"finalizers": []}}
        tb.prepare_for_update(NAMESPACE, new, obj)
        self.assertEqual(new["spec"]["finalizers"], ["kubernetes"])

    def test_service_status_and_update_carry_over(self) -> None:
        """A Service starts with an empty load balancer; a PUT without IPs keeps the old ones."""
        obj = {"spec": {"ports": [{"port": 80}]}}
        tb.prepare_for_create(SERVICE, obj)
        self.assertEqual(obj["status"], {"loadBalancer": {}})
        old = {"spec": {"type": "NodePort", "clusterIP": "10.0.0.9", "clusterIPs": ["10.0.0.9"],
                        "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}}
        new = {"spec": {"type": "NodePort", "ports": [{"name": "http", "port": 8080}]}}
        tb.prepare_for_update(SERVICE, new, old)
        self.assertEqual(new["spec"]["clusterIP"], "10.0.0.9")
        self.assertEqual(new["spec"]["clusterIPs"], ["10.0.0.9"])
        self.assertEqual(new["spec"]["ports"][0]["nodePort"], 30080)

    def test_secret_update(self) -> None:
        """stringData in an update lands in data too."""
        new = {"data": {"a": "YQ=="}, "stringData": {"b": "b"}}
        tb.prepare_for_update(SECRET, new, {"data": {"a": "YQ=="}})
        self.assertEqual(new, {"type": "Opaque", "data": {"a": "YQ==", "b": "Yg=="}})

    def test_storage_protection(self) -> None:
        """Claims and volumes get protection finalizers only when asked for."""
        claim: Dict[str, Any] = {"metadata": {"name": "c"}, "spec": {}}
        tb.prepare_for_create(info("", "v1", "PersistentVolumeClaim"), claim)
        self.assertNotIn("finalizers", claim["metadata"])
        context = tb.CreateContext(storage_protection_finalizers=True)
        tb.prepare_for_create(info("", "v1", "PersistentVolumeClaim"), claim, context)
        self.assertEqual(claim["metadata"]["finalizers"], ["kubernetes.io/pvc-protection"])
        volume: Dict[str, Any] = {"metadata": {"name": "v", "finalizers": ["x"]}, "spec": {}}
        tb.prepare_for_create(info("", "v1", "PersistentVolume"), volume, context)
        self.assertEqual(volume["metadata"]["finalizers"], ["x", "kubernetes.io/pv-protection"])

    def test_workload_status(self) -> None:
        """A new Deployment starts with an empty status."""
        obj = {"spec": {"template": {"spec": {}}}, "status": {"replicas": 5}}
        tb.prepare_for_create(DEPLOYMENT, obj)
        self.assertEqual(obj["status"], {})

    def test_status_update_defaults(self) -> None:
        """A node status write gets allocatable from capacity."""
        new = {"status": {"capacity": {"cpu": "2"}}}
        tb.prepare_for_status_update(info("", "v1", "Node"), new, {})
        self.assertEqual(new["status"]["allocatable"], {"cpu": "2"})

    def test_namespace_controller_objects(self) -> None:
        """The default ServiceAccount and kube-root-ca.crt ConfigMap of a namespace."""
        self.assertEqual(tb.default_service_account("team"), {
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "team"}})
        cm = tb.root_ca_config_map("team", "PEM")
        self.assertEqual(cm["metadata"]["name"], "kube-root-ca.crt")
        self.assertEqual(cm["data"], {"ca.crt": "PEM"})
        self.assertIn("kubernetes.io/description", cm["metadata"]["annotations"])

    def test_unknown_kind(self) -> None:
        """Kinds without special behaviour pass through untouched."""
        obj: Dict[str, Optional[Any]] = {"data": {"k": "v"}}
        tb.prepare_for_create(info("", "v1", "ConfigMap"), obj)
        self.assertEqual(obj, {"data": {"k": "v"}})


class InitialStatusTests(SynchronousTestCase):

    def test_zero_counters(self) -> None:
        """New workloads show the zero counters Go always writes."""
        cases = [
            (info("apps", "v1", "ReplicaSet"), {"replicas": 0}),
            (info("apps", "v1", "StatefulSet"), {"availableReplicas": 0, "replicas": 0}),
            (info("apps", "v1", "DaemonSet"), {"currentNumberScheduled": 0,
                                               "desiredNumberScheduled": 0,
                                               "numberMisscheduled": 0, "numberReady": 0}),
            (info("policy", "v1", "PodDisruptionBudget"),
             {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0,
              "expectedPods": 0}),
            (info("autoscaling", "v2", "HorizontalPodAutoscaler"), {"desiredReplicas": 0}),
            (info("autoscaling", "v1", "HorizontalPodAutoscaler"),
             {"currentReplicas": 0, "desiredReplicas": 0}),
            (info("networking.k8s.io", "v1", "Ingress"), {"loadBalancer": {}}),
            (info("batch", "v1", "CronJob"), {}),
        ]
        for kind_info, expected in cases:
            obj: Dict[str, Any] = {"spec": {}, "status": {"bogus": 1}}
            tb.prepare_for_create(kind_info, obj)
            self.assertEqual(obj["status"], expected, kind_info.kind)
        # Each create gets its own status object.
        a: Dict[str, Any] = {"spec": {}}
        b: Dict[str, Any] = {"spec": {}}
        tb.prepare_for_create(info("apps", "v1", "ReplicaSet"), a)
        tb.prepare_for_create(info("apps", "v1", "ReplicaSet"), b)
        a["status"]["replicas"] = 3
        self.assertEqual(b["status"], {"replicas": 0})

    def test_no_opinion(self) -> None:
        """Kinds without a known initial status answer None (the store decides)."""
        self.assertIsNone(tb.initial_status(info("", "v1", "Node"), {}))
        self.assertIsNone(tb.initial_status(info("", "v1", "ConfigMap"), {}))


class LimitRangerTests(SynchronousTestCase):

    def test_defaults_and_annotation(self) -> None:
        """Containers take a LimitRange's defaults; the pod says so in an annotation."""
        limit_range = {"spec": {"limits": [{"type": "Container",
                                            "default": {"cpu": "500m", "memory": "256Mi"},
                                            "defaultRequest": {"cpu": "100m"}}]}}
        obj = pod({"containers": [container(limits={"memory": "1Gi"}),
                                  dict(container(), name="side")]})
        tb.prepare_for_create(POD, obj, tb.CreateContext(
            mount_service_account_token=False, limit_ranges=lambda ns: [limit_range]))
        first, second = obj["spec"]["containers"]
        # The pod's own defaults (requests from limits) come first.
        self.assertEqual(first["resources"], {"limits": {"memory": "1Gi", "cpu": "500m"},
                                              "requests": {"memory": "1Gi", "cpu": "100m"}})
        self.assertEqual(second["resources"], {"limits": {"cpu": "500m", "memory": "256Mi"},
                                               "requests": {"cpu": "100m"}})
        self.assertEqual(obj["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
                         "LimitRanger plugin set: cpu request for container c; cpu limit for "
                         "container c; cpu request for container side; cpu, memory limit for "
                         "container side")
        self.assertEqual(obj["status"]["qosClass"], "Burstable")

    def test_no_limit_ranges(self) -> None:
        """Without LimitRanges nothing changes."""
        obj = pod({"containers": [container()]})
        tb.prepare_for_create(POD, obj, tb.CreateContext(mount_service_account_token=False,
                                                         limit_ranges=lambda ns: []))
        self.assertEqual(obj["spec"]["containers"][0]["resources"], {})
        self.assertNotIn("annotations", obj["metadata"])


class PublicSurfaceTests(SynchronousTestCase):

    def test_public_names(self) -> None:
        """The names the store wires in stay importable from the package roots."""
        from kapi_twisted.registry import allocators, defaults, typebehaviour
        for module in (allocators, defaults, typebehaviour):
            for name in module.__all__:
                self.assertTrue(hasattr(module, name), f"{module.__name__}.{name}")
