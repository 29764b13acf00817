"""
Server-side Tables: the columns and cells `kubectl get` prints, as
kube-apiserver's printers make them.
"""

from __future__ import annotations

import calendar
from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.tables import build_table, human_duration, table_for

NOW = calendar.timegm((2026, 11, 26, 12, 0, 0))


def ago(seconds: float) -> str:
    """An RFC 3339 timestamp `seconds` before NOW."""
    import datetime

    moment = datetime.datetime.fromtimestamp(NOW - seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, age: float = 300, **extra: Any) -> Dict[str, Any]:
    data = {"name": name, "namespace": "default", "uid": "u-" + name, "resourceVersion": "7",
            "creationTimestamp": ago(age)}
    data.update(extra)
    return data


def cells(group: str, resource: str, obj: Dict[str, Any]) -> List[Any]:
    return table_for(group, resource, now=lambda: NOW).row(obj)


def column_names(group: str, resource: str, wide: bool = True) -> List[str]:
    return [c["name"] for c in table_for(group, resource).column_definitions()
            if wide or c["priority"] == 0]


class HumanDurationTests(SynchronousTestCase):
    def test_kube_human_durations(self):
        """Ages read like kubectl's: 45s, 5m30s, 42m, 3h2m, 30h, 2d5h, 300d, 3y12d."""
        minute, hour, day, year = 60, 3600, 86400, 365 * 86400
        expected = {
            0: "0s", 45: "45s", 119: "119s", 120: "2m", 150: "2m30s", 599: "9m59s",
            600: "10m", 3 * hour - 1: "179m", 3 * hour: "3h", 3 * hour + 2 * minute: "3h2m",
            8 * hour: "8h", 47 * hour + 59 * minute: "47h", 2 * day: "2d", 2 * day + 5 * hour: "2d5h",
            8 * day: "8d", 300 * day: "300d", 2 * year: "2y", 3 * year + 12 * day: "3y12d",
            10 * year: "10y", -1: "0s", -1.5: "0s", -5: "<invalid>",
        }
        for seconds, text in expected.items():
            self.assertEqual(human_duration(seconds), text, seconds)


class ColumnTests(SynchronousTestCase):
    def test_column_sets(self):
        """Each type prints kube-apiserver's columns, wide ones last with priority 1."""
        expected = {
            ("", "pods"): ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node",
                           "Nominated Node", "Readiness Gates"],
            ("apps", "deployments"): ["Name", "Ready", "Up-to-date", "Available", "Age",
                                      "Containers", "Images", "Selector"],
            ("apps", "replicasets"): ["Name", "Desired", "Current", "Ready", "Age",
                                      "Containers", "Images", "Selector"],
            ("apps", "statefulsets"): ["Name", "Ready", "Age", "Containers", "Images"],
            ("apps", "daemonsets"): ["Name", "Desired", "Current", "Ready", "Up-to-date",
                                     "Available", "Node Selector", "Age", "Containers",
                                     "Images", "Selector"],
            ("batch", "jobs"): ["Name", "Status", "Completions", "Duration", "Age",
                                "Containers", "Images", "Selector"],
            ("batch", "cronjobs"): ["Name", "Schedule", "Timezone", "Suspend", "Active",
                                    "Last Schedule", "Age", "Containers", "Images", "Selector"],
            ("", "services"): ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age",
                               "Selector"],
            ("", "endpoints"): ["Name", "Endpoints", "Age"],
            ("", "configmaps"): ["Name", "Data", "Age"],
            ("", "secrets"): ["Name", "Type", "Data", "Age"],
            ("", "namespaces"): ["Name", "Status", "Age"],
            ("", "nodes"): ["Name", "Status", "Roles", "Age", "Version", "Internal-IP",
                            "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"],
            ("", "events"): ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source",
                             "Message", "First Seen", "Count", "Name"],
            ("", "serviceaccounts"): ["Name", "Secrets", "Age"],
            ("coordination.k8s.io", "leases"): ["Name", "Holder", "Age"],
            ("", "persistentvolumeclaims"): ["Name", "Status", "Volume", "Capacity",
                                             "Access Modes", "StorageClass",
                                             "VolumeAttributesClass", "Age", "VolumeMode"],
            ("", "persistentvolumes"): ["Name", "Capacity", "Access Modes", "Reclaim Policy",
                                        "Status", "Claim", "StorageClass",
                                        "VolumeAttributesClass", "Reason", "Age", "VolumeMode"],
            ("networking.k8s.io", "ingresses"): ["Name", "Class", "Hosts", "Address", "Ports", "Age"],
            ("rbac.authorization.k8s.io", "rolebindings"): ["Name", "Role", "Age", "Users",
                                                            "Groups", "ServiceAccounts"],
            ("", "replicationcontrollers"): ["Name", "Desired", "Current", "Ready", "Age",
                                             "Containers", "Images", "Selector"],
            ("autoscaling", "horizontalpodautoscalers"): ["Name", "Reference", "Targets",
                                                          "MinPods", "MaxPods", "Replicas", "Age"],
            ("policy", "poddisruptionbudgets"): ["Name", "Min Available", "Max Unavailable",
                                                 "Allowed Disruptions", "Age"],
            ("storage.k8s.io", "storageclasses"): ["Name", "Provisioner", "ReclaimPolicy",
                                                   "VolumeBindingMode", "AllowVolumeExpansion", "Age"],
            ("scheduling.k8s.io", "priorityclasses"): ["Name", "Value", "Global-Default", "Age",
                                                       "PreemptionPolicy"],
            ("networking.k8s.io", "networkpolicies"): ["Name", "Pod-Selector", "Age"],
            ("rbac.authorization.k8s.io", "roles"): ["Name", "Created At"],
            ("rbac.authorization.k8s.io", "clusterroles"): ["Name", "Created At"],
            ("apiextensions.k8s.io", "customresourcedefinitions"): ["Name", "Created At"],
            ("", "limitranges"): ["Name", "Created At"],
        }
        for key, names in expected.items():
            self.assertEqual(column_names(*key), names, key)
        self.assertEqual(column_names("", "pods", wide=False),
                         ["Name", "Ready", "Status", "Restarts", "Age"])
        self.assertEqual(column_names("", "events", wide=False),
                         ["Last Seen", "Type", "Reason", "Object", "Message"])

    def test_definition_fields(self):
        """Every column has name, type, format, description and priority; Name is format `name`."""
        for key in [("", "pods"), ("apps", "deployments"), ("rbac.authorization.k8s.io", "roles")]:
            definitions = table_for(*key).column_definitions()
            for definition in definitions:
                self.assertEqual(set(definition), {"name", "type", "format", "description", "priority"})
            name = [d for d in definitions if d["name"] == "Name"][0]
            self.assertEqual((name["type"], name["format"]), ("string", "name"))
            self.assertTrue(name["description"].startswith("Name must be unique within a namespace"))
        pods = {d["name"]: d for d in table_for("", "pods").column_definitions()}
        self.assertEqual(pods["Restarts"]["type"], "string")
        self.assertIn("podIP", pods["IP"]["description"])
        default = table_for("", "limitranges").column_definitions()
        self.assertEqual(default[1]["type"], "date")
        self.assertIn("CreationTimestamp", default[1]["description"])


def container(name: str = "app", image: str = "nginx:1.27", **extra: Any) -> Dict[str, Any]:
    data = {"name": name, "image": image}
    data.update(extra)
    return data


def pod(**status: Any) -> Dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta("web-1"),
            "spec": {"containers": [container()]}, "status": status}


class PodTests(SynchronousTestCase):
    def row(self, obj):
        return cells("", "pods", obj)

    def test_pending_without_node(self):
        """A stored pod nobody runs shows 0/1 Pending, 0 restarts, <none> for IP and node."""
        self.assertEqual(
            self.row(pod(phase="Pending")),
            ["web-1", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"],
        )

    def test_container_creating(self):
        """A waiting container's reason becomes the status (ContainerCreating)."""
        obj = pod(phase="Pending", containerStatuses=[
            {"name": "app", "ready": False, "restartCount": 0,
             "state": {"waiting": {"reason": "ContainerCreating"}}}])
        self.assertEqual(self.row(obj)[2], "ContainerCreating")

    def test_running_with_restarts(self):
        """A running ready pod shows 1/1 Running and restarts with the age of the last one."""
        obj = pod(phase="Running", podIP="10.0.0.7", podIPs=[{"ip": "10.0.0.7"}], containerStatuses=[
            {"name": "app", "ready": True, "restartCount": 2,
             "state": {"running": {"startedAt": ago(100)}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}}])
        obj["spec"]["nodeName"] = "node-a"
        obj["spec"]["readinessGates"] = [{"conditionType": "example.com/gate"}]
        obj["status"]["conditions"] = [{"type": "example.com/gate", "status": "True"}]
        self.assertEqual(
            self.row(obj),
            ["web-1", "1/1", "Running", "2 (5m ago)", "5m", "10.0.0.7", "node-a", "<none>", "1/1"],
        )

    def test_completed(self):
        """A succeeded pod shows Completed and carries the Completed row condition."""
        obj = pod(phase="Succeeded", containerStatuses=[
            {"name": "app", "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])
        self.assertEqual(self.row(obj)[1:3], ["0/1", "Completed"])
        table = build_table(table_for("", "pods", now=lambda: NOW), [obj])
        self.assertEqual(table["rows"][0]["conditions"][0]["reason"], "Succeeded")

    def test_terminating(self):
        """A pod being deleted shows Terminating."""
        obj = pod(phase="Running")
        obj["metadata"]["deletionTimestamp"] = ago(1)
        self.assertEqual(self.row(obj)[2], "Terminating")

    def test_init_containers(self):
        """A pod in its first init container shows Init:0/1; a crash shows Init:<reason>."""
        obj = pod(phase="Pending", initContainerStatuses=[
            {"name": "setup", "ready": False, "restartCount": 0, "state": {"running": {}}}])
        obj["spec"]["initContainers"] = [container("setup")]
        self.assertEqual(self.row(obj)[2], "Init:0/1")
        obj["status"]["initContainerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
        self.assertEqual(self.row(obj)[2], "Init:CrashLoopBackOff")

    def test_sidecar_counts_as_container(self):
        """A restartable init container (sidecar) counts in READY."""
        obj = pod(phase="Running", initContainerStatuses=[
            {"name": "proxy", "ready": True, "started": True, "restartCount": 0,
             "state": {"running": {}}}], containerStatuses=[
            {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}],
            conditions=[{"type": "Initialized", "status": "True"}])
        obj["spec"]["initContainers"] = [container("proxy", restartPolicy="Always")]
        self.assertEqual(self.row(obj)[1:3], ["2/2", "Running"])


def template(*names: str) -> Dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [container(n, f"img/{n}:1") for n in names]}}


class WorkloadTests(SynchronousTestCase):
    def test_deployment(self):
        """A deployment shows READY ready/desired, UP-TO-DATE, AVAILABLE and its selector."""
        obj = {"metadata": meta("web", 3 * 3600 + 120),
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "fe"}},
                        "template": template("app", "sidecar")},
               "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
        self.assertEqual(cells("apps", "deployments", obj),
                         ["web", "2/3", 3, 2, "3h2m", "app,sidecar", "img/app:1,img/sidecar:1",
                          "app=web,tier=fe"])

    def test_replicaset_and_replicationcontroller(self):
        """ReplicaSets and ReplicationControllers show DESIRED CURRENT READY."""
        rs = {"metadata": meta("web-5d4"), "spec": {"replicas": 2, "template": template("app"),
              "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}},
              "status": {"replicas": 2, "readyReplicas": 1}}
        self.assertEqual(cells("apps", "replicasets", rs),
                         ["web-5d4", 2, 2, 1, "5m", "app", "img/app:1", "app in (api,web)"])
        rc = {"metadata": meta("old"), "spec": {"replicas": 1, "selector": {"app": "old"},
              "template": template("app")}, "status": {"replicas": 1}}
        self.assertEqual(cells("", "replicationcontrollers", rc),
                         ["old", 1, 1, 0, "5m", "app", "img/app:1", "app=old"])

    def test_statefulset_and_daemonset(self):
        """StatefulSets show READY n/m; DaemonSets their counts and node selector."""
        sts = {"metadata": meta("db"), "spec": {"replicas": 3, "template": template("db")},
               "status": {"readyReplicas": 3}}
        self.assertEqual(cells("apps", "statefulsets", sts), ["db", "3/3", "5m", "db", "img/db:1"])
        ds = {"metadata": meta("agent", 2 * 86400 + 5 * 3600),
              "spec": {"selector": {"matchLabels": {"app": "agent"}},
                       "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                             "containers": [container("agent", "agent:2")]}}},
              "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                         "updatedNumberScheduled": 2, "numberAvailable": 1}}
        self.assertEqual(cells("apps", "daemonsets", ds),
                         ["agent", 2, 2, 1, 2, 1, "kubernetes.io/os=linux", "2d5h", "agent", "agent:2",
                          "app=agent"])

    def test_job(self):
        """Jobs show STATUS, COMPLETIONS and DURATION."""
        job = {"metadata": meta("pi"), "spec": {"completions": 1, "template": template("pi"),
               "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "x"}}},
               "status": {"succeeded": 1, "startTime": ago(300), "completionTime": ago(270),
                          "conditions": [{"type": "Complete", "status": "True"}]}}
        self.assertEqual(cells("batch", "jobs", job)[:5], ["pi", "Complete", "1/1", "30s", "5m"])
        running = {"metadata": meta("work"), "spec": {"parallelism": 3, "template": template("w")},
                   "status": {"startTime": ago(90)}}
        self.assertEqual(cells("batch", "jobs", running)[:4], ["work", "Running", "0/1 of 3", "90s"])
        fresh = {"metadata": meta("new"), "spec": {"template": template("w")}}
        self.assertEqual(cells("batch", "jobs", fresh)[:4], ["new", "Running", "0/1", ""])

    def test_cronjob(self):
        """CronJobs show SCHEDULE, TIMEZONE, SUSPEND, ACTIVE and LAST SCHEDULE."""
        cj = {"metadata": meta("nightly"), "spec": {"schedule": "0 3 * * *", "suspend": False,
              "jobTemplate": {"spec": {"template": template("backup")}}},
              "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(45)}}
        self.assertEqual(cells("batch", "cronjobs", cj),
                         ["nightly", "0 3 * * *", "<none>", "False", 1, "45s", "5m", "backup",
                          "img/backup:1", "<none>"])


class ServiceTests(SynchronousTestCase):
    def test_cluster_ip_and_node_port(self):
        """Services show TYPE, CLUSTER-IP, EXTERNAL-IP and PORT(S) as kubectl does."""
        svc = {"metadata": meta("web"), "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
               "clusterIPs": ["10.96.0.10"], "selector": {"app": "web"},
               "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}}
        self.assertEqual(cells("", "services", svc),
                         ["web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "5m", "app=web"])

    def test_load_balancer_and_external_name(self):
        """A LoadBalancer without an address is <pending>; ExternalName shows its name."""
        lb = {"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"],
              "ports": [{"port": 443, "protocol": "TCP", "nodePort": 31443}]}}
        self.assertEqual(cells("", "services", lb)[3], "<pending>")
        lb["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]}}
        self.assertEqual(cells("", "services", lb)[3], "203.0.113.9,lb.example.com")
        ext = {"metadata": meta("ext"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}}
        self.assertEqual(cells("", "services", ext)[1:6],
                         ["ExternalName", "<none>", "db.example.com", "<none>", "5m"])

    def test_endpoints(self):
        """Endpoints list up to three ip:port pairs, then `+ N more...`."""
        eps = {"metadata": meta("web"), "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)],
                                                      "ports": [{"port": 8080}]}]}
        self.assertEqual(cells("", "endpoints", eps),
                         ["web", "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 2 more...", "5m"])
        self.assertEqual(cells("", "endpoints", {"metadata": meta("none")})[1], "<none>")

    def test_ingress_and_network_policy(self):
        """Ingresses show CLASS, HOSTS, ADDRESS, PORTS; network policies their pod selector."""
        ing = {"metadata": meta("site"), "spec": {"ingressClassName": "nginx",
               "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}], "tls": [{"hosts": ["a.example.com"]}]},
               "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
        self.assertEqual(cells("networking.k8s.io", "ingresses", ing),
                         ["site", "nginx", "a.example.com,b.example.com", "192.0.2.1", "80, 443", "5m"])
        bare = {"metadata": meta("any"), "spec": {"defaultBackend": {}}}
        self.assertEqual(cells("networking.k8s.io", "ingresses", bare)[1:5], ["<none>", "*", "", "80"])
        policy = {"metadata": meta("deny"), "spec": {"podSelector": {}}}
        self.assertEqual(cells("networking.k8s.io", "networkpolicies", policy), ["deny", "<none>", "5m"])


class ConfigTests(SynchronousTestCase):
    def test_configmap_secret_serviceaccount_namespace(self):
        """ConfigMaps count data keys, secrets show TYPE and DATA, namespaces their phase."""
        self.assertEqual(cells("", "configmaps", {"metadata": meta("cfg"), "data": {"a": "1"},
                                                  "binaryData": {"b": "AA=="}}), ["cfg", 2, "5m"])
        self.assertEqual(cells("", "secrets", {"metadata": meta("tls"), "type": "kubernetes.io/tls",
                                               "data": {"tls.crt": "", "tls.key": ""}}),
                         ["tls", "kubernetes.io/tls", 2, "5m"])
        self.assertEqual(cells("", "serviceaccounts", {"metadata": meta("default")}), ["default", 0, "5m"])
        self.assertEqual(cells("", "namespaces", {"metadata": meta("kube-system", 86400 * 30),
                                                  "status": {"phase": "Active"}}),
                         ["kube-system", "Active", "30d"])

    def test_node(self):
        """Nodes show STATUS (Ready, SchedulingDisabled), ROLES and VERSION."""
        node = {"metadata": meta("cp-1", labels={"node-role.kubernetes.io/control-plane": ""}),
                "spec": {"unschedulable": True},
                "status": {"conditions": [{"type": "Ready", "status": "True"}],
                           "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
                           "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian GNU/Linux 13"}}}
        self.assertEqual(cells("", "nodes", node),
                         ["cp-1", "Ready,SchedulingDisabled", "control-plane", "5m", "v1.37.0",
                          "192.168.1.10", "<none>", "Debian GNU/Linux 13", "<unknown>", "<unknown>"])
        self.assertEqual(cells("", "nodes", {"metadata": meta("bare")})[1:3], ["Unknown", "<none>"])

    def test_events(self):
        """Events show LAST SEEN, TYPE, REASON, OBJECT and MESSAGE, in both event APIs."""
        core = {"metadata": meta("web-1.17a"), "type": "Normal", "reason": "Scheduled",
                "message": " Successfully assigned default/web-1 to node-a ",
                "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
                "source": {"component": "default-scheduler"},
                "firstTimestamp": ago(600), "lastTimestamp": ago(60), "count": 3}
        self.assertEqual(cells("", "events", core),
                         ["60s", "Normal", "Scheduled", "pod/web-1", "spec.containers{app}",
                          "default-scheduler", "Successfully assigned default/web-1 to node-a",
                          "10m", 3, "web-1.17a"])
        new = {"metadata": meta("web-1.17b"), "type": "Warning", "reason": "BackOff", "note": "Back-off",
               "regarding": {"kind": "Pod", "name": "web-1"}, "eventTime": "2026-11-26T11:58:00.000000Z",
               "reportingController": "kubelet", "reportingInstance": "node-a"}
        self.assertEqual(cells("events.k8s.io", "events", new),
                         ["2m", "Warning", "BackOff", "pod/web-1", "", "kubelet, node-a", "Back-off",
                          "2m", 1, "web-1.17b"])

    def test_leases_and_bindings(self):
        """Leases show their holder; bindings their role and subjects."""
        lease = {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "cp-1_abc"}}
        self.assertEqual(cells("coordination.k8s.io", "leases", lease), ["kube-scheduler", "cp-1_abc", "5m"])
        binding = {"metadata": meta("admins"), "roleRef": {"kind": "ClusterRole", "name": "admin"},
                   "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                                {"kind": "Group", "name": "ops"},
                                {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]}
        self.assertEqual(cells("rbac.authorization.k8s.io", "rolebindings", binding),
                         ["admins", "ClusterRole/admin", "5m", "alice, bob", "ops", "tools:ci"])
        self.assertEqual(cells("rbac.authorization.k8s.io", "clusterrolebindings", binding)[1], "ClusterRole/admin")


class StorageAndPolicyTests(SynchronousTestCase):
    def test_pvc_and_pv(self):
        """Claims show capacity and modes once bound; volumes their claim and class."""
        pvc = {"metadata": meta("data"), "spec": {"storageClassName": "standard",
               "resources": {"requests": {"storage": "1Gi"}}},
               "status": {"phase": "Pending"}}
        self.assertEqual(cells("", "persistentvolumeclaims", pvc),
                         ["data", "Pending", "", "", "", "standard", "<unset>", "5m", "<unset>"])
        pvc["spec"]["volumeName"] = "pv-1"
        pvc["spec"]["volumeMode"] = "Filesystem"
        pvc["status"] = {"phase": "Bound", "capacity": {"storage": "10Gi"},
                         "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}
        self.assertEqual(cells("", "persistentvolumeclaims", pvc),
                         ["data", "Bound", "pv-1", "10Gi", "RWO,RWX", "standard", "<unset>", "5m", "Filesystem"])
        pv = {"metadata": meta("pv-1"), "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
              "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard",
              "claimRef": {"namespace": "default", "name": "data"}}, "status": {"phase": "Bound"}}
        self.assertEqual(cells("", "persistentvolumes", pv),
                         ["pv-1", "10Gi", "RWO", "Retain", "Bound", "default/data", "standard", "<unset>",
                          "", "5m", "<unset>"])

    def test_storage_and_priority_classes(self):
        """The default StorageClass is marked `(default)`; PriorityClasses show value and default."""
        sc = {"metadata": meta("standard", annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
              "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}
        self.assertEqual(cells("storage.k8s.io", "storageclasses", sc),
                         ["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer",
                          False, "5m"])
        pc = {"metadata": meta("system-cluster-critical"), "value": 2000000000,
              "preemptionPolicy": "PreemptLowerPriority"}
        self.assertEqual(cells("scheduling.k8s.io", "priorityclasses", pc),
                         ["system-cluster-critical", 2000000000, False, "5m", "PreemptLowerPriority"])

    def test_pdb_and_hpa(self):
        """PDBs show MIN AVAILABLE/MAX UNAVAILABLE; HPAs their targets (v2 and v1 objects)."""
        pdb = {"metadata": meta("web"), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}
        self.assertEqual(cells("policy", "poddisruptionbudgets", pdb), ["web", "50%", "N/A", 1, "5m"])
        v2 = {"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
              "minReplicas": 1, "maxReplicas": 5, "metrics": [
                  {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                              "averageUtilization": 80}}},
                  {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                                 "averageValue": "500Mi"}}}]},
              "status": {"currentReplicas": 2, "currentMetrics": [
                  {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 35}}}]}}
        self.assertEqual(cells("autoscaling", "horizontalpodautoscalers", v2),
                         ["web", "Deployment/web", "cpu: 35%/80%, memory: <unknown>/500Mi", "1", 5, 2, "5m"])
        v1 = {"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
              "maxReplicas": 3, "targetCPUUtilizationPercentage": 60}, "status": {"currentReplicas": 1}}
        self.assertEqual(cells("autoscaling", "horizontalpodautoscalers", v1)[2:5],
                         ["cpu: <unknown>/60%", "<unset>", 3])


class BuildTableTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.pods = [pod(phase="Pending"), pod(phase="Running")]
        self.pods[1]["metadata"] = meta("web-2", labels={"app": "web"})
        self.convertor = table_for("", "pods", now=lambda: NOW)

    def test_metadata_rows(self):
        """By default each row embeds a PartialObjectMetadata with the object's metadata."""
        table = build_table(self.convertor, self.pods, list_meta={"resourceVersion": "812", "continue": ""})
        self.assertEqual((table["kind"], table["apiVersion"]), ("Table", "meta.k8s.io/v1"))
        self.assertEqual(table["metadata"], {"resourceVersion": "812"})
        self.assertEqual(len(table["columnDefinitions"]), 9)
        row = table["rows"][1]
        self.assertEqual(row["cells"][0], "web-2")
        self.assertEqual(row["object"], {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                         "metadata": self.pods[1]["metadata"]})
        self.assertNotIn("conditions", row)

    def test_object_none_and_invalid(self):
        """includeObject=Object embeds the object, None embeds null, anything else is a 400."""
        table = build_table(self.convertor, self.pods, "Object")
        self.assertIs(table["rows"][0]["object"], self.pods[0])
        table = build_table(self.convertor, self.pods, "None")
        self.assertIsNone(table["rows"][0]["object"])
        error = self.assertRaises(APIError, build_table, self.convertor, self.pods, "Everything")
        self.assertEqual(error.code, 400)
        self.assertEqual(error.message, 'unrecognized includeObject value: "Everything"')

    def test_v1beta1_and_no_headers(self):
        """A v1beta1 Table embeds v1beta1 metadata; noHeaders leaves columnDefinitions null."""
        table = build_table(self.convertor, self.pods[:1], api_version="meta.k8s.io/v1beta1", no_headers=True)
        self.assertEqual(table["apiVersion"], "meta.k8s.io/v1beta1")
        self.assertEqual(table["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1beta1")
        self.assertIsNone(table["columnDefinitions"])

    def test_default_table(self):
        """Types without a printer get Name and Created At (RFC 3339); an empty list has null rows."""
        role = {"metadata": meta("reader", creationTimestamp="2026-11-26T11:00:00.123456Z"), "rules": []}
        convertor = table_for("rbac.authorization.k8s.io", "roles", now=lambda: NOW)
        table = build_table(convertor, [role], list_meta={"resourceVersion": "5", "remainingItemCount": 3})
        self.assertEqual(table["rows"][0]["cells"], ["reader", "2026-11-26T11:00:00Z"])
        self.assertEqual(table["metadata"], {"resourceVersion": "5", "remainingItemCount": 3})
        self.assertIsNone(build_table(convertor, [])["rows"])
        self.assertEqual(build_table(self.convertor, [])["rows"], [])
        self.assertEqual(convertor.row({"metadata": {"name": "x"}}), ["x", "0001-01-01T00:00:00Z"])

    def test_unknown_age(self):
        """An object without a creation timestamp has AGE <unknown>."""
        obj = {"metadata": {"name": "x"}, "data": {}}
        self.assertEqual(cells("", "configmaps", obj), ["x", 0, "<unknown>"])


class PlatformTests(SynchronousTestCase):
    def test_every_printer_fills_every_column(self):
        """A bare object (only a name) prints a full row in every table, never an error."""
        from kapi_twisted.registry.tables import PRINTERS

        for key in PRINTERS:
            convertor = table_for(*key, now=lambda: NOW)
            row = convertor.row({"metadata": {"name": "x"}})
            self.assertEqual(len(row), len(convertor.column_definitions()), key)

    def test_api_services_and_csrs(self):
        """APIServices show SERVICE and AVAILABLE; CSRs their signer, requestor and condition."""
        local = {"metadata": meta("v1.apps"), "spec": {"group": "apps", "version": "v1"},
                 "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]}}
        self.assertEqual(cells("apiregistration.k8s.io", "apiservices", local), ["v1.apps", "Local", "True", "5m"])
        remote = {"metadata": meta("v1beta1.metrics.k8s.io"),
                  "spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
                  "status": {"conditions": [{"type": "Available", "status": "False",
                                             "reason": "MissingEndpoints"}]}}
        self.assertEqual(cells("apiregistration.k8s.io", "apiservices", remote)[1:3],
                         ["kube-system/metrics-server", "False (MissingEndpoints)"])
        csr = {"metadata": meta("csr-1"), "spec": {"signerName": "kubernetes.io/kube-apiserver-client",
               "username": "alice", "expirationSeconds": 86400},
               "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}}
        self.assertEqual(cells("certificates.k8s.io", "certificatesigningrequests", csr),
                         ["csr-1", "5m", "kubernetes.io/kube-apiserver-client", "alice", "24h",
                          "Approved,Issued"])

    def test_flowschemas_in_matching_order(self):
        """FlowSchemas list by matching precedence, then name."""
        schemas = [{"metadata": meta(n), "spec": {"matchingPrecedence": p,
                                                   "priorityLevelConfiguration": {"name": "workload-low"}}}
                   for n, p in (("service-accounts", 9000), ("exempt", 1), ("catch-all", 10000),
                                ("a-tie", 9000))]
        table = build_table(table_for("flowcontrol.apiserver.k8s.io", "flowschemas", now=lambda: NOW), schemas)
        self.assertEqual([r["cells"][0] for r in table["rows"]],
                         ["exempt", "a-tie", "service-accounts", "catch-all"])
        self.assertEqual(table["rows"][0]["cells"][1:], ["workload-low", 1, "<none>", "5m", "?"])

    def test_controller_revision_and_admission(self):
        """ControllerRevisions name their controller; webhook configurations count webhooks."""
        revision = {"metadata": meta("web-7d9", ownerReferences=[
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]),
            "revision": 3}
        self.assertEqual(cells("apps", "controllerrevisions", revision),
                         ["web-7d9", "statefulset.apps/web", 3, "5m"])
        hooks = {"metadata": meta("policy"), "webhooks": [{"name": "a.example.com"}, {"name": "b.example.com"}]}
        self.assertEqual(cells("admissionregistration.k8s.io", "validatingwebhookconfigurations", hooks),
                         ["policy", 2, "5m"])
        binding = {"metadata": meta("b"), "spec": {"policyName": "p", "paramRef": {"name": "cfg"}}}
        self.assertEqual(cells("admissionregistration.k8s.io", "validatingadmissionpolicybindings", binding),
                         ["b", "p", "*/cfg", "5m"])


class CustomResourceTests(SynchronousTestCase):
    def test_default_age_column(self):
        """A CRD without printer columns prints NAME and AGE."""
        from kapi_twisted.registry.tables import custom_resource_table

        convertor = custom_resource_table(None, now=lambda: NOW)
        self.assertEqual([c["name"] for c in convertor.column_definitions()], ["Name", "Age"])
        self.assertEqual(convertor.column_definitions()[1]["type"], "date")
        self.assertEqual(convertor.row({"metadata": meta("w", 7200)}), ["w", "120m"])

    def test_printer_columns(self):
        """additionalPrinterColumns are evaluated by JSONPath and typed; missing values are null."""
        from kapi_twisted.registry.tables import custom_resource_table

        columns = [
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
            {"name": "Size", "type": "number", "jsonPath": ".spec.size", "priority": 1},
            {"name": "Enabled", "type": "boolean", "jsonPath": ".spec.enabled"},
            {"name": "Owner", "type": "string", "jsonPath": ".metadata.annotations['example.com/owner']",
             "description": "Who owns it"},
            {"name": "Ports", "type": "string", "jsonPath": ".spec.ports[*].port"},
            {"name": "Seen", "type": "date", "jsonPath": ".status.lastSeen"},
        ]
        convertor = custom_resource_table(columns, now=lambda: NOW)
        definitions = convertor.column_definitions()
        self.assertEqual(definitions[2]["description"],
                         'Custom resource definition column (in JSONPath format): '
                         '.status.conditions[?(@.type=="Ready")].status')
        self.assertEqual(definitions[3]["priority"], 1)
        self.assertEqual(definitions[5]["description"], "Who owns it")
        widget = {"metadata": meta("w1", annotations={"example.com/owner": "team-a"}),
                  "spec": {"replicas": 3.0, "size": 2, "enabled": True, "ports": [{"port": 80}, {"port": 443}]},
                  "status": {"conditions": [{"type": "Synced", "status": "False"},
                                            {"type": "Ready", "status": "True"}], "lastSeen": ago(30)}}
        self.assertEqual(convertor.row(widget), ["w1", 3, "True", 2.0, True, "team-a", "80", "30s"])
        self.assertEqual(convertor.row({"metadata": meta("w2")}), ["w2", None, None, None, None, None, None, None])

    def test_unknown_path_refused(self):
        """A JSONPath outside what the server evaluates is refused when the table is made."""
        from kapi_twisted.registry.tables import custom_resource_table

        self.assertRaises(ValueError, custom_resource_table,
                          [{"name": "X", "type": "string", "jsonPath": ".spec..deep"}])
