"""
Defaulting of built-in kinds: for the bodies real clients send, the result
equals what kube-apiserver 1.3x returns (system metadata aside).
"""

from __future__ import annotations

import copy
from typing import Any, Dict

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.defaults import apply_defaults, defaulter_for
from kapi_twisted.registry.defaults._podspec import image_pull_policy


def defaulted(group: str, version: str, kind: str, obj: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(obj)
    apply_defaults(group, version, kind, out)
    return out


def nginx_container(**extra: Any) -> Dict[str, Any]:
    c = {
        "image": "nginx",
        "imagePullPolicy": "Always",
        "name": "nginx",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    c.update(extra)
    return c


TEMPLATE_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}


class WorkloadTests(SynchronousTestCase):

    def test_kubectl_create_deployment(self) -> None:
        """`kubectl create deployment web --image=nginx` reads back with kube's defaults."""
        body = {
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "creationTimestamp": None, "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                             "resources": {}}]},
                },
                "strategy": {},
            },
            "status": {},
        }
        out = defaulted("apps", "v1", "Deployment", body)
        self.assertEqual(out["spec"], {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                         "type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": dict(TEMPLATE_SPEC_DEFAULTS, containers=[nginx_container()]),
            },
        })

    def test_deployment_keeps_given_values(self) -> None:
        """Values the client set (replicas 0, Recreate, a zero grace period) are kept."""
        body = {"spec": {"replicas": 0, "strategy": {"type": "Recreate"},
                         "revisionHistoryLimit": 0,
                         "template": {"spec": {"terminationGracePeriodSeconds": 0,
                                               "restartPolicy": "Always",
                                               "containers": []}}}}
        spec = defaulted("apps", "v1", "Deployment", body)["spec"]
        self.assertEqual(spec["replicas"], 0)
        self.assertEqual(spec["strategy"], {"type": "Recreate"})
        self.assertEqual(spec["revisionHistoryLimit"], 0)
        self.assertEqual(spec["template"]["spec"]["terminationGracePeriodSeconds"], 0)

    def test_replica_set_and_replication_controller(self) -> None:
        """ReplicaSets get one replica; an RC takes selector and labels from its template."""
        rs = defaulted("apps", "v1", "ReplicaSet", {"spec": {"template": {"spec": {}}}})
        self.assertEqual(rs["spec"]["replicas"], 1)
        rc = defaulted("", "v1", "ReplicationController", {
            "metadata": {"name": "rc"},
            "spec": {"template": {"metadata": {"labels": {"app": "x"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}},
        })
        self.assertEqual(rc["metadata"]["labels"], {"app": "x"})
        self.assertEqual(rc["spec"]["selector"], {"app": "x"})
        self.assertEqual(rc["spec"]["replicas"], 1)
        self.assertEqual(rc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
                         "IfNotPresent")

    def test_statefulset(self) -> None:
        """A StatefulSet reads back with its policies and full claim templates."""
        body = {"spec": {
            "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}},
            }],
        }}
        spec = defaulted("apps", "v1", "StatefulSet", body)["spec"]
        self.assertEqual(spec["podManagementPolicy"], "OrderedReady")
        self.assertEqual(spec["updateStrategy"],
                         {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        self.assertEqual(spec["persistentVolumeClaimRetentionPolicy"],
                         {"whenDeleted": "Retain", "whenScaled": "Retain"})
        self.assertEqual(spec["replicas"], 1)
        self.assertEqual(spec["revisionHistoryLimit"], 10)
        self.assertEqual(spec["volumeClaimTemplates"], [{
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}},
                     "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"},
        }])

    def test_statefulset_ondelete_has_no_partition(self) -> None:
        """An OnDelete StatefulSet gets no rollingUpdate block."""
        spec = defaulted("apps", "v1", "StatefulSet",
                         {"spec": {"updateStrategy": {"type": "OnDelete"}}})["spec"]
        self.assertEqual(spec["updateStrategy"], {"type": "OnDelete"})

    def test_daemonset(self) -> None:
        """A DaemonSet rolls one pod at a time without surge."""
        spec = defaulted("apps", "v1", "DaemonSet", {"spec": {"template": {"spec": {}}}})["spec"]
        self.assertEqual(spec["updateStrategy"], {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        self.assertEqual(spec["revisionHistoryLimit"], 10)
        self.assertEqual(spec["template"]["spec"]["schedulerName"], "default-scheduler")

    def test_job(self) -> None:
        """`kubectl create job` reads back with completions, backoff and policies set."""
        body = {"metadata": {"name": "pi"},
                "spec": {"template": {"metadata": {},
                                      "spec": {"containers": [{"name": "pi", "image": "perl"}],
                                               "restartPolicy": "Never"}}}}
        spec = defaulted("batch", "v1", "Job", body)["spec"]
        template = spec.pop("template")
        self.assertEqual(spec, {
            "backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1,
            "manualSelector": False, "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed", "suspend": False,
        })
        self.assertEqual(template["spec"]["restartPolicy"], "Never")

    def test_job_parallelism_and_failure_policy(self) -> None:
        """Parallelism alone leaves completions unset; a podFailurePolicy replaces on Failed."""
        spec = defaulted("batch", "v1", "Job", {"spec": {
            "parallelism": 3, "backoffLimitPerIndex": 1, "completionMode": "Indexed",
            "completions": 3,
            "podFailurePolicy": {"rules": [{"action": "Ignore",
                                            "onPodConditions": [{"type": "DisruptionTarget"}]}]},
            "template": {"spec": {}}}})["spec"]
        self.assertEqual(spec["parallelism"], 3)
        self.assertEqual(spec["backoffLimit"], 2 ** 31 - 1)
        self.assertEqual(spec["podReplacementPolicy"], "Failed")
        self.assertEqual(spec["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
                         "True")
        spec = defaulted("batch", "v1", "Job", {"spec": {"parallelism": 2}})["spec"]
        self.assertNotIn("completions", spec)

    def test_job_template_restart_policy_defaults_to_always(self) -> None:
        """A Job template without restartPolicy gets Always (which validation then refuses)."""
        spec = defaulted("batch", "v1", "Job", {"spec": {"template": {"spec": {}}}})["spec"]
        self.assertEqual(spec["template"]["spec"]["restartPolicy"], "Always")

    def test_job_labels_from_template(self) -> None:
        """A Job without labels takes its template's."""
        out = defaulted("batch", "v1", "Job", {"metadata": {"name": "j"}, "spec": {
            "template": {"metadata": {"labels": {"app": "j"}}, "spec": {}}}})
        self.assertEqual(out["metadata"]["labels"], {"app": "j"})

    def test_cronjob(self) -> None:
        """`kubectl create cronjob` reads back with its policies; the job template is not a Job."""
        body = {"metadata": {"name": "hello"}, "spec": {
            "schedule": "*/1 * * * *",
            "jobTemplate": {"metadata": {"name": "hello", "creationTimestamp": None}, "spec": {
                "template": {"metadata": {"creationTimestamp": None}, "spec": {
                    "containers": [{"name": "hello", "image": "busybox", "resources": {}}],
                    "restartPolicy": "OnFailure"}}}}}}
        spec = defaulted("batch", "v1", "CronJob", body)["spec"]
        self.assertEqual(spec, {
            "concurrencyPolicy": "Allow",
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"name": "hello"}, "spec": {"template": {
                "metadata": {},
                "spec": dict(TEMPLATE_SPEC_DEFAULTS, restartPolicy="OnFailure", containers=[
                    dict(nginx_container(), name="hello", image="busybox")]),
            }}},
            "schedule": "*/1 * * * *",
            "successfulJobsHistoryLimit": 3,
            "suspend": False,
        })

    def test_pod_template(self) -> None:
        """A PodTemplate's pod spec is defaulted, without the Pod-only fields."""
        out = defaulted("", "v1", "PodTemplate", {"template": {"spec": {
            "containers": [{"name": "c", "image": "nginx",
                            "resources": {"limits": {"cpu": "1"}}}]}}})
        spec = out["template"]["spec"]
        self.assertEqual(spec["restartPolicy"], "Always")
        self.assertNotIn("enableServiceLinks", spec)
        self.assertNotIn("requests", spec["containers"][0]["resources"])


class PodSpecTests(SynchronousTestCase):

    def test_pod(self) -> None:
        """`kubectl run nginx --image=nginx` defaults match a real pod's spec."""
        out = defaulted("", "v1", "Pod", {
            "metadata": {"name": "nginx", "labels": {"run": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}],
                     "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"},
        })
        self.assertEqual(out["spec"], dict(TEMPLATE_SPEC_DEFAULTS, enableServiceLinks=True,
                                           containers=[nginx_container()]))

    def test_image_pull_policy(self) -> None:
        """Always for latest or no tag, IfNotPresent for a tag or a digest."""
        digest = "sha256:" + "a" * 64
        cases = {
            "nginx": "Always", "nginx:latest": "Always", "nginx:1.25": "IfNotPresent",
            "registry:5000/team/app": "Always", "registry:5000/team/app:v2": "IfNotPresent",
            f"nginx@{digest}": "IfNotPresent", f"nginx:latest@{digest}": "Always",
            "docker.io/library/busybox:1.36": "IfNotPresent", "": "IfNotPresent",
            "Nginx": "IfNotPresent",
        }
        for image, policy in cases.items():
            self.assertEqual(image_pull_policy(image), policy, image)

    def test_pod_requests_from_limits(self) -> None:
        """A pod container with limits only gets equal requests, canonical quantities."""
        out = defaulted("", "v1", "Pod", {"spec": {"containers": [{
            "name": "c", "image": "x:1",
            "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"},
                          "requests": {"cpu": "100m"}}}]}})
        self.assertEqual(out["spec"]["containers"][0]["resources"], {
            "limits": {"cpu": "500m", "memory": "1Gi"},
            "requests": {"cpu": "100m", "memory": "1Gi"}})

    def test_probes_ports_env(self) -> None:
        """Probes, lifecycle hooks, ports and fieldRefs get their defaults."""
        out = defaulted("", "v1", "Pod", {"spec": {"containers": [{
            "name": "c", "image": "x:1",
            "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
            "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "livenessProbe": {"httpGet": {"port": 8080}},
            "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
            "startupProbe": {"tcpSocket": {"port": 80}, "failureThreshold": 30},
            "lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/stop"}}},
        }]}})
        c = out["spec"]["containers"][0]
        self.assertEqual(c["ports"], [{"containerPort": 80, "protocol": "TCP"},
                                      {"containerPort": 53, "protocol": "UDP"}])
        self.assertEqual(c["env"][0]["valueFrom"]["fieldRef"],
                         {"fieldPath": "metadata.name", "apiVersion": "v1"})
        self.assertEqual(c["livenessProbe"], {
            "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
            "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
            "failureThreshold": 3})
        self.assertEqual(c["readinessProbe"], {
            "grpc": {"port": 9000, "service": ""}, "periodSeconds": 5, "timeoutSeconds": 1,
            "successThreshold": 1, "failureThreshold": 3})
        self.assertEqual(c["startupProbe"]["failureThreshold"], 30)
        self.assertEqual(c["lifecycle"]["preStop"]["httpGet"],
                         {"port": 80, "path": "/stop", "scheme": "HTTP"})

    def test_volumes(self) -> None:
        """Volume sources get their modes and types; a source-less volume is an emptyDir."""
        out = defaulted("apps", "v1", "Deployment", {"spec": {"template": {"spec": {
            "containers": [],
            "volumes": [
                {"name": "scratch"},
                {"name": "cm", "configMap": {"name": "settings"}},
                {"name": "sec", "secret": {"secretName": "s", "defaultMode": 256}},
                {"name": "host", "hostPath": {"path": "/data"}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                {"name": "proj", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "t", "audience": "vault"}}]}},
                {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1000Mi"}}}}}},
            ]}}}})
        vols = {v["name"]: v for v in out["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(vols["scratch"], {"name": "scratch", "emptyDir": {}})
        self.assertEqual(vols["cm"]["configMap"], {"name": "settings", "defaultMode": 420})
        self.assertEqual(vols["sec"]["secret"]["defaultMode"], 256)
        self.assertEqual(vols["host"]["hostPath"], {"path": "/data", "type": ""})
        self.assertEqual(vols["info"]["downwardAPI"], {"defaultMode": 420, "items": [
            {"path": "labels",
             "fieldRef": {"fieldPath": "metadata.labels", "apiVersion": "v1"}}]})
        self.assertEqual(vols["proj"]["projected"], {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"path": "t", "audience": "vault",
                                     "expirationSeconds": 3600}}]})
        self.assertEqual(vols["eph"]["ephemeral"]["volumeClaimTemplate"]["spec"], {
            "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "1000Mi"}}})

    def test_service_account_alias(self) -> None:
        """serviceAccountName and the deprecated serviceAccount mirror each other."""
        spec = defaulted("apps", "v1", "Deployment", {"spec": {"template": {"spec": {
            "serviceAccountName": "robot"}}}})["spec"]["template"]["spec"]
        self.assertEqual((spec["serviceAccount"], spec["serviceAccountName"]), ("robot", "robot"))
        spec = defaulted("", "v1", "Pod", {"spec": {"serviceAccount": "old"}})["spec"]
        self.assertEqual((spec["serviceAccount"], spec["serviceAccountName"]), ("old", "old"))

    def test_host_network_ports(self) -> None:
        """With hostNetwork a pod's container ports are also host ports."""
        spec = defaulted("", "v1", "Pod", {"spec": {"hostNetwork": True, "containers": [
            {"name": "c", "image": "x:1", "ports": [{"containerPort": 9100}]}]}})["spec"]
        self.assertEqual(spec["containers"][0]["ports"],
                         [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}])

    def test_bad_quantity_is_400(self) -> None:
        """A malformed quantity is refused as kube's decoder refuses it."""
        with self.assertRaises(APIError) as caught:
            apply_defaults("", "v1", "Pod", {"spec": {"containers": [
                {"name": "c", "image": "x", "resources": {"limits": {"cpu": "one"}}}]}})
        self.assertEqual(caught.exception.code, 400)
        self.assertEqual(caught.exception.message,
                         'Pod in version "v1" cannot be handled as a Pod: quantities must match '
                         "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


class CoreKindTests(SynchronousTestCase):

    def test_service_clusterip(self) -> None:
        """`kubectl create service clusterip` gets affinity, traffic policy and target ports."""
        spec = defaulted("", "v1", "Service", {"spec": {
            "ports": [{"name": "80-8080", "port": 80, "targetPort": 8080}, {"port": 443}],
            "selector": {"app": "web"}}})["spec"]
        self.assertEqual(spec, {
            "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080},
                      {"port": 443, "protocol": "TCP", "targetPort": 443}],
            "selector": {"app": "web"},
            "sessionAffinity": "None",
            "type": "ClusterIP",
            "internalTrafficPolicy": "Cluster",
        })

    def test_service_external_types(self) -> None:
        """NodePort and LoadBalancer services get externalTrafficPolicy; ExternalName none."""
        lb = defaulted("", "v1", "Service", {"spec": {"type": "LoadBalancer",
                                                     "ports": [{"port": 80}]}})["spec"]
        self.assertEqual(lb["externalTrafficPolicy"], "Cluster")
        self.assertTrue(lb["allocateLoadBalancerNodePorts"])
        en = defaulted("", "v1", "Service", {"spec": {"type": "ExternalName",
                                                     "externalName": "db.example.com"}})["spec"]
        self.assertEqual(en, {"type": "ExternalName", "externalName": "db.example.com",
                              "sessionAffinity": "None"})

    def test_service_client_ip_affinity(self) -> None:
        """ClientIP affinity gets the three-hour timeout."""
        spec = defaulted("", "v1", "Service", {"spec": {"sessionAffinity": "ClientIP"}})["spec"]
        self.assertEqual(spec["sessionAffinityConfig"], {"clientIP": {"timeoutSeconds": 10800}})

    def test_secret_string_data(self) -> None:
        """stringData is merged into base64 data (overriding) and never stored."""
        out = defaulted("", "v1", "Secret", {
            "data": {"a": "b2xk", "keep": "eA=="},
            "stringData": {"a": "new", "pass": "s3cr\u00e9t"}})
        self.assertEqual(out, {"type": "Opaque", "data": {
            "a": "bmV3", "keep": "eA==", "pass": "czNjcsOpdA=="}})

    def test_secret_data_base64(self) -> None:
        """Secret data is re-encoded canonically; data that is not base64 is a 400."""
        out = defaulted("", "v1", "Secret", {"data": {"a": "YWJj\nZA=="}})
        self.assertEqual(out["data"], {"a": "YWJjZA=="})
        with self.assertRaises(APIError) as caught:
            apply_defaults("", "v1", "Secret", {"data": {"password": "hunter 2"}})
        self.assertEqual(caught.exception.code, 400)
        self.assertEqual(caught.exception.message,
                         'Secret in version "v1" cannot be handled as a Secret: '
                         "illegal base64 data at input byte 6")
        with self.assertRaises(APIError):
            apply_defaults("", "v1", "ConfigMap", {"binaryData": {"b": "YQ"}})

    def test_secret_type_kept(self) -> None:
        """A typed secret keeps its type."""
        out = defaulted("", "v1", "Secret", {"type": "kubernetes.io/tls", "data": {}})
        self.assertEqual(out["type"], "kubernetes.io/tls")

    def test_namespace_label(self) -> None:
        """A namespace carries the kubernetes.io/metadata.name label."""
        out = defaulted("", "v1", "Namespace", {"metadata": {"name": "team-a",
                                                             "labels": {"x": "y"}}})
        self.assertEqual(out["metadata"]["labels"],
                         {"x": "y", "kubernetes.io/metadata.name": "team-a"})

    def test_pvc_and_pv(self) -> None:
        """Claims and volumes are Filesystem and Pending; a PV's reclaim policy is Retain."""
        pvc = defaulted("", "v1", "PersistentVolumeClaim", {"spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1.5Gi"}}}})
        self.assertEqual(pvc, {"spec": {"accessModes": ["ReadWriteOnce"],
                                        "resources": {"requests": {"storage": "1536Mi"}},
                                        "volumeMode": "Filesystem"},
                               "status": {"phase": "Pending"}})
        pv = defaulted("", "v1", "PersistentVolume", {"spec": {
            "capacity": {"storage": "5Gi"}, "hostPath": {"path": "/d"}}})
        self.assertEqual(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain")
        self.assertEqual(pv["spec"]["volumeMode"], "Filesystem")
        self.assertEqual(pv["spec"]["hostPath"]["type"], "")
        self.assertEqual(pv["status"], {"phase": "Pending"})

    def test_endpoints_node_limitrange(self) -> None:
        """Endpoint ports are TCP, node allocatable copies capacity, LimitRange fills defaults."""
        ep = defaulted("", "v1", "Endpoints", {"subsets": [{"ports": [{"port": 80}]}]})
        self.assertEqual(ep["subsets"][0]["ports"], [{"port": 80, "protocol": "TCP"}])
        node = defaulted("", "v1", "Node", {"status": {"capacity": {"cpu": "4",
                                                                    "memory": "8Gi"}}})
        self.assertEqual(node["status"]["allocatable"], {"cpu": "4", "memory": "8Gi"})
        lr = defaulted("", "v1", "LimitRange", {"spec": {"limits": [
            {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}})
        self.assertEqual(lr["spec"]["limits"][0], {
            "type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"},
            "default": {"cpu": "2"}, "defaultRequest": {"cpu": "2", "memory": "64Mi"}})

    def test_core_event_zero_fields(self) -> None:
        """A core Event reads back with the fields Go always writes."""
        out = defaulted("", "v1", "Event", {"reason": "Started", "message": "m"})
        self.assertEqual(out, {"reason": "Started", "message": "m", "involvedObject": {},
                               "source": {}, "firstTimestamp": None, "lastTimestamp": None,
                               "eventTime": None, "reportingComponent": "",
                               "reportingInstance": ""})

    def test_kinds_without_defaults(self) -> None:
        """ConfigMaps, ServiceAccounts, Leases and PDBs are left as sent."""
        for group, kind in (("", "ConfigMap"), ("", "ServiceAccount"),
                            ("coordination.k8s.io", "Lease"), ("policy", "PodDisruptionBudget"),
                            ("networking.k8s.io", "Ingress")):
            body = {"metadata": {"name": "x"}, "data": {"k": "v"}}
            self.assertEqual(defaulted(group, "v1", kind, body), body)
            if kind != "ConfigMap":
                self.assertIsNone(defaulter_for(group, "v1", kind))


class OtherGroupTests(SynchronousTestCase):

    def test_network_policy(self) -> None:
        """policyTypes follow the rules; ports are TCP; podSelector is always written."""
        np = defaulted("networking.k8s.io", "v1", "NetworkPolicy", {"spec": {
            "ingress": [{"ports": [{"port": 80}]}], "egress": [{"to": []}]}})
        self.assertEqual(np["spec"], {
            "podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}],
            "egress": [{"to": []}], "policyTypes": ["Ingress", "Egress"]})
        np = defaulted("networking.k8s.io", "v1", "NetworkPolicy",
                       {"spec": {"podSelector": {"matchLabels": {"a": "b"}}}})
        self.assertEqual(np["spec"]["policyTypes"], ["Ingress"])

    def test_rbac_subjects(self) -> None:
        """Users and groups belong to rbac.authorization.k8s.io; service accounts to core."""
        rb = defaulted("rbac.authorization.k8s.io", "v1", "RoleBinding", {
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"},
                         {"kind": "ServiceAccount", "name": "sa", "namespace": "default"}]})
        self.assertEqual(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io")
        self.assertEqual([s["apiGroup"] for s in rb["subjects"]],
                         ["rbac.authorization.k8s.io", "rbac.authorization.k8s.io", ""])

    def test_hpa_v2(self) -> None:
        """An HPA without metrics targets 80% CPU; a partial behavior is completed."""
        hpa = defaulted("autoscaling", "v2", "HorizontalPodAutoscaler", {"spec": {
            "maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}})
        spec = hpa["spec"]
        self.assertEqual(spec["minReplicas"], 1)
        self.assertEqual(spec["metrics"], [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        self.assertEqual(spec["behavior"], {
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}]},
            "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                          "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
        })
        # The defaults are copies: changing one result leaves the next alone.
        spec["behavior"]["scaleUp"]["policies"].clear()
        again = defaulted("autoscaling", "v2", "HorizontalPodAutoscaler",
                          {"spec": {"behavior": {}}})
        self.assertEqual(len(again["spec"]["behavior"]["scaleUp"]["policies"]), 2)
        v1 = defaulted("autoscaling", "v1", "HorizontalPodAutoscaler", {"spec": {}})
        self.assertEqual(v1["spec"], {"minReplicas": 1})

    def test_storage_scheduling_discovery(self) -> None:
        """StorageClass, PriorityClass and EndpointSlice defaults."""
        sc = defaulted("storage.k8s.io", "v1", "StorageClass", {"provisioner": "x"})
        self.assertEqual(sc, {"provisioner": "x", "reclaimPolicy": "Delete",
                              "volumeBindingMode": "Immediate"})
        pc = defaulted("scheduling.k8s.io", "v1", "PriorityClass", {"value": 10})
        self.assertEqual(pc["preemptionPolicy"], "PreemptLowerPriority")
        es = defaulted("discovery.k8s.io", "v1", "EndpointSlice", {
            "addressType": "IPv4", "ports": [{"port": 80}],
            "endpoints": [{"addresses": ["10.1.0.1"]}]})
        self.assertEqual(es["ports"], [{"port": 80, "name": "", "protocol": "TCP"}])
        self.assertEqual(es["endpoints"][0]["conditions"], {})

    def test_webhooks(self) -> None:
        """Webhook configurations get failure/match policies, selectors, timeout, scope, port."""
        out = defaulted("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", {
            "webhooks": [{"name": "w.example.com", "sideEffects": "None",
                          "admissionReviewVersions": ["v1"],
                          "clientConfig": {"service": {"name": "s", "namespace": "n"}},
                          "rules": [{"operations": ["CREATE"], "apiGroups": [""],
                                     "apiVersions": ["v1"], "resources": ["pods"]}]}]})
        hook = out["webhooks"][0]
        self.assertEqual((hook["failurePolicy"], hook["matchPolicy"], hook["timeoutSeconds"],
                          hook["reinvocationPolicy"]), ("Fail", "Equivalent", 10, "Never"))
        self.assertEqual((hook["namespaceSelector"], hook["objectSelector"]), ({}, {}))
        self.assertEqual(hook["rules"][0]["scope"], "*")
        self.assertEqual(hook["clientConfig"]["service"]["port"], 443)

    def test_flowcontrol(self) -> None:
        """Priority levels get shares, lending and queue shape."""
        out = defaulted("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration", {
            "spec": {"type": "Limited", "limited": {"limitResponse": {
                "type": "Queuing", "queuing": {}}}}})
        self.assertEqual(out["spec"]["limited"], {
            "nominalConcurrencyShares": 30, "lendablePercent": 0,
            "limitResponse": {"type": "Queuing", "queuing": {
                "handSize": 8, "queues": 64, "queueLengthLimit": 50}}})

    def test_idempotent(self) -> None:
        """Defaulting an already defaulted object changes nothing."""
        bodies = [
            ("apps", "v1", "Deployment", {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": "nginx",
                                "resources": {"limits": {"cpu": "1.5"}}}]}}}}),
            ("", "v1", "Pod", {"spec": {"containers": [{"name": "c", "image": "nginx:1",
                                                        "resources": {"limits": {
                                                            "memory": "2048Ki"}}}]}}),
            ("", "v1", "Service", {"spec": {"type": "NodePort", "ports": [{"port": 1}]}}),
            ("batch", "v1", "CronJob", {"spec": {"jobTemplate": {}}}),
        ]
        for group, version, kind, body in bodies:
            once = defaulted(group, version, kind, body)
            self.assertEqual(defaulted(group, version, kind, once), once, kind)
