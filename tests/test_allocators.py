"""
Service cluster IPs and NodePorts: unique, from kube's ranges, freed on
delete and on failed writes, rebuilt at start-up, with kube's messages.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any, Dict

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.allocators import (AlreadyAllocated, IPAllocator, NotInRange,
                                              PortAllocator, RangeFull, ServiceAllocation)
from kapi_twisted.registry.defaults import apply_defaults


def service(spec: Dict[str, Any], name: str = "web") -> Dict[str, Any]:
    obj = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec}
    apply_defaults("", "v1", "Service", obj)
    return obj


class IPAllocatorTests(SynchronousTestCase):

    def test_unique_until_full(self) -> None:
        """A /24 hands out 253 distinct addresses (not .0, .1 or .255), then is full."""
        alloc = IPAllocator("10.0.0.0/24", random.Random(3))
        got = {alloc.allocate() for _ in range(253)}
        self.assertEqual(len(got), 253)
        expected = {f"10.0.0.{i}" for i in range(2, 255)}
        self.assertEqual(got, expected)
        with self.assertRaises(RangeFull) as caught:
            alloc.allocate()
        self.assertEqual(str(caught.exception), "range is full")
        # The kubernetes Service's address is still there for the asking.
        self.assertEqual(alloc.allocate("10.0.0.1"), "10.0.0.1")

    def test_upper_band_first(self) -> None:
        """Dynamic addresses come from above the static band while it has room."""
        alloc = IPAllocator("10.0.0.0/24", random.Random(5))
        for _ in range(200):
            self.assertGreaterEqual(int(alloc.allocate().rsplit(".", 1)[1]), 17)

    def test_requested(self) -> None:
        """A requested address is given once; out-of-range ones are refused with kube's text."""
        alloc = IPAllocator("10.0.0.0/24")
        self.assertEqual(alloc.allocate("10.0.0.10"), "10.0.0.10")
        with self.assertRaises(AlreadyAllocated) as caught:
            alloc.allocate("10.0.0.10")
        self.assertEqual(str(caught.exception), "provided IP is already allocated")
        for bad in ("10.0.1.5", "10.0.0.0", "10.0.0.255", "fd00::1", "bogus"):
            with self.assertRaises(NotInRange) as caught:
                alloc.allocate(bad)
            self.assertEqual(str(caught.exception),
                             f"the provided IP ({bad}) is not in the valid range. "
                             "The range of valid IPs is 10.0.0.0/24")

    def test_release_and_rebuild(self) -> None:
        """Released addresses come back; rebuild restores the used set from stored IPs."""
        alloc = IPAllocator("10.0.0.0/28", random.Random(1))
        ips = [alloc.allocate() for _ in range(13)]
        self.assertRaises(RangeFull, alloc.allocate)
        alloc.release(ips[4])
        self.assertEqual(alloc.allocate(), ips[4])
        fresh = IPAllocator("10.0.0.0/28")
        fresh.rebuild(ips + ["192.168.1.1", "None"])
        self.assertEqual(fresh.used(), 13)
        self.assertTrue(fresh.is_allocated(ips[0]))
        self.assertRaises(AlreadyAllocated, fresh.allocate, ips[0])

    def test_dry_run(self) -> None:
        """A dry-run allocation returns an address without taking it."""
        alloc = IPAllocator("10.0.0.0/24")
        ip = alloc.allocate(dry_run=True)
        self.assertFalse(alloc.is_allocated(ip))
        self.assertEqual(alloc.allocate(ip), ip)

    def test_ipv6(self) -> None:
        """IPv6 ranges work and are capped at 65536 addresses."""
        alloc = IPAllocator("fd00:10:96::/112", random.Random(2))
        ip = alloc.allocate()
        self.assertIn(ipaddress.ip_address(ip), ipaddress.ip_network("fd00:10:96::/112"))
        self.assertEqual(alloc.family, "IPv6")
        self.assertEqual(IPAllocator("fd00::/64").free(), 65535)


class PortAllocatorTests(SynchronousTestCase):

    def test_unique_until_full(self) -> None:
        """All 2768 NodePorts of 30000-32767 are handed out once each, then the range is full."""
        alloc = PortAllocator("30000-32767", random.Random(9))
        ports = [alloc.allocate() for _ in range(2768)]
        self.assertEqual(sorted(ports), list(range(30000, 32768)))
        with self.assertRaises(RangeFull):
            alloc.allocate()
        alloc.release(31000)
        self.assertEqual(alloc.allocate(), 31000)

    def test_requested(self) -> None:
        """Requested ports: once, and only inside the range (kube's messages)."""
        alloc = PortAllocator()
        self.assertEqual(alloc.allocate(30080), 30080)
        with self.assertRaises(AlreadyAllocated) as caught:
            alloc.allocate(30080)
        self.assertEqual(str(caught.exception), "provided port is already allocated")
        with self.assertRaises(NotInRange) as caught:
            alloc.allocate(80)
        self.assertEqual(str(caught.exception), "provided port is not in the valid range. "
                                                "The range of valid ports is 30000-32767")

    def test_rebuild(self) -> None:
        """Rebuild marks stored NodePorts as taken."""
        alloc = PortAllocator("30000-30010")
        alloc.rebuild([30001, 30002, 99])
        self.assertEqual(alloc.used(), 2)
        self.assertRaises(AlreadyAllocated, alloc.allocate, 30002)


class ServiceAllocationTests(SynchronousTestCase):

    def setUp(self) -> None:
        self.alloc = ServiceAllocation("10.0.0.0/24", "30000-32767", rng=random.Random(4))

    def test_cluster_ip(self) -> None:
        """A ClusterIP Service gets one address and single-stack IPv4 fields."""
        svc = service({"selector": {"app": "web"}, "ports": [{"port": 80}]})
        self.alloc.allocate_create(svc).commit()
        spec = svc["spec"]
        self.assertEqual(spec["clusterIPs"], [spec["clusterIP"]])
        self.assertEqual((spec["ipFamilies"], spec["ipFamilyPolicy"]), (["IPv4"], "SingleStack"))
        self.assertTrue(self.alloc.ip_allocators["IPv4"].is_allocated(spec["clusterIP"]))

    def test_kubernetes_service(self) -> None:
        """The kubernetes Service may claim the first address."""
        svc = service({"clusterIP": "10.0.0.1", "ports": [{"port": 443}]}, "kubernetes")
        self.alloc.allocate_create(svc)
        self.assertEqual(svc["spec"]["clusterIPs"], ["10.0.0.1"])

    def test_many_services_unique(self) -> None:
        """Two hundred Services never share an address or a NodePort."""
        ips, ports = set(), set()
        for i in range(200):
            svc = service({"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}, f"s{i}")
            self.alloc.allocate_create(svc)
            ips.add(svc["spec"]["clusterIP"])
            ports.update(p["nodePort"] for p in svc["spec"]["ports"])
        self.assertEqual((len(ips), len(ports)), (200, 400))

    def test_taken_ip_is_422(self) -> None:
        """Asking for a taken address is 422 with kube's message; nothing leaks."""
        first = service({"clusterIP": "10.0.0.5", "ports": [{"port": 80}]})
        self.alloc.allocate_create(first)
        before = self.alloc.allocated_ips()
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"clusterIP": "10.0.0.5",
                                                "ports": [{"port": 80}]}, "other"))
        self.assertEqual(caught.exception.code, 422)
        self.assertEqual(caught.exception.message,
                         'Service "other" is invalid: spec.clusterIPs: Invalid value: '
                         '["10.0.0.5"]: failed to allocate IP 10.0.0.5: provided IP is already '
                         "allocated")
        self.assertEqual(self.alloc.allocated_ips(), before)

    def test_out_of_range_and_invalid(self) -> None:
        """Addresses outside the range or not addresses at all are 422."""
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"clusterIP": "10.1.0.5"}))
        self.assertIn("failed to allocate IP 10.1.0.5: the provided IP (10.1.0.5) is not in the "
                      "valid range. The range of valid IPs is 10.0.0.0/24",
                      caught.exception.message)
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"clusterIP": "abc"}))
        self.assertEqual(caught.exception.code, 422)
        self.assertIn('spec.clusterIPs[0]: Invalid value: "abc": must be a valid IP address',
                      caught.exception.message)

    def test_full_range_is_500(self) -> None:
        """An exhausted range answers 500 as kube does."""
        small = ServiceAllocation("10.0.0.0/30")
        small.allocate_create(service({}, "a"))
        with self.assertRaises(APIError) as caught:
            small.allocate_create(service({}, "b"))
        self.assertEqual(caught.exception.code, 500)
        self.assertEqual(caught.exception.message,
                         "Internal error occurred: failed to allocate a serviceIP: range is full")

    def test_headless_and_external_name(self) -> None:
        """Headless Services and ExternalNames get no address."""
        headless = service({"clusterIP": "None", "selector": {"app": "db"}})
        self.alloc.allocate_create(headless)
        self.assertEqual(headless["spec"]["clusterIPs"], ["None"])
        self.assertEqual(headless["spec"]["ipFamilyPolicy"], "SingleStack")
        selectorless = service({"clusterIP": "None"})
        self.alloc.allocate_create(selectorless)
        self.assertEqual(selectorless["spec"]["ipFamilyPolicy"], "RequireDualStack")
        self.assertEqual(selectorless["spec"]["ipFamilies"], ["IPv4", "IPv6"])
        external = service({"type": "ExternalName", "externalName": "example.com",
                            "ipFamilyPolicy": "SingleStack"})
        self.alloc.allocate_create(external)
        self.assertNotIn("clusterIP", external["spec"])
        self.assertNotIn("ipFamilyPolicy", external["spec"])
        self.assertEqual(self.alloc.allocated_ips(), (0,))

    def test_dual_stack_refused(self) -> None:
        """RequireDualStack on a single-stack cluster is 422."""
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"ipFamilyPolicy": "RequireDualStack"}))
        self.assertIn("spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster "
                      "is not configured for dual-stack services", caught.exception.message)

    def test_dual_stack_cluster(self) -> None:
        """On a dual-stack cluster PreferDualStack gets one address per family."""
        alloc = ServiceAllocation("10.0.0.0/24,fd00::/108")
        svc = service({"ipFamilyPolicy": "PreferDualStack"})
        alloc.allocate_create(svc)
        self.assertEqual(svc["spec"]["ipFamilies"], ["IPv4", "IPv6"])
        self.assertEqual(len(svc["spec"]["clusterIPs"]), 2)
        self.assertEqual(svc["spec"]["clusterIP"], svc["spec"]["clusterIPs"][0])

    def test_node_ports(self) -> None:
        """NodePort Services get ports; one port number shares its NodePort across protocols."""
        svc = service({"type": "NodePort", "ports": [
            {"name": "dns-udp", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            {"name": "http", "port": 80, "nodePort": 30080}]})
        self.alloc.allocate_create(svc)
        ports = svc["spec"]["ports"]
        self.assertEqual(ports[0]["nodePort"], ports[1]["nodePort"])
        self.assertEqual(ports[2]["nodePort"], 30080)
        self.assertEqual(self.alloc.node_ports.used(), 2)

    def test_node_port_errors(self) -> None:
        """A taken or out-of-range NodePort is 422 and releases the Service's address."""
        self.alloc.allocate_create(service({"type": "NodePort",
                                            "ports": [{"port": 80, "nodePort": 30080}]}))
        ips = self.alloc.allocated_ips()
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"type": "NodePort", "ports": [
                {"port": 80, "nodePort": 30080}]}, "b"))
        self.assertEqual(caught.exception.message,
                         'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                         "provided port is already allocated")
        self.assertEqual(self.alloc.allocated_ips(), ips)
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"type": "NodePort", "ports": [
                {"port": 80}, {"port": 81, "nodePort": 80}]}, "c"))
        self.assertIn("spec.ports[1].nodePort: Invalid value: 80: provided port is not in the "
                      "valid range. The range of valid ports is 30000-32767",
                      caught.exception.message)
        self.assertEqual(self.alloc.node_ports.used(), 1)

    def test_load_balancer(self) -> None:
        """LoadBalancers get NodePorts unless told not to; Local traffic gets a health port."""
        lb = service({"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                      "ports": [{"port": 80}]})
        self.alloc.allocate_create(lb)
        self.assertIn("nodePort", lb["spec"]["ports"][0])
        self.assertIn("healthCheckNodePort", lb["spec"])
        bare = service({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
                        "ports": [{"port": 80}]})
        self.alloc.allocate_create(bare)
        self.assertNotIn("nodePort", bare["spec"]["ports"][0])

    def test_revert(self) -> None:
        """Reverting a create (the write failed) frees what it took."""
        svc = service({"type": "NodePort", "ports": [{"port": 80}]})
        txn = self.alloc.allocate_create(svc)
        txn.revert()
        self.assertEqual(self.alloc.allocated_ips(), (0,))
        self.assertEqual(self.alloc.node_ports.used(), 0)
        txn()  # calling again is harmless

    def test_dry_run(self) -> None:
        """A dry-run create shows addresses but keeps nothing."""
        svc = service({"type": "NodePort", "ports": [{"port": 80}]})
        self.alloc.allocate_create(svc, dry_run=True)
        self.assertIn("clusterIP", svc["spec"])
        self.assertEqual(self.alloc.allocated_ips(), (0,))
        self.assertEqual(self.alloc.node_ports.used(), 0)

    def test_delete_releases(self) -> None:
        """Deleting a Service frees its address and NodePorts for the next one."""
        svc = service({"type": "NodePort", "clusterIP": "10.0.0.50",
                       "ports": [{"port": 80, "nodePort": 30500}]})
        self.alloc.allocate_create(svc)
        self.alloc.release_service(svc)
        again = service({"type": "NodePort", "clusterIP": "10.0.0.50",
                         "ports": [{"port": 80, "nodePort": 30500}]}, "again")
        self.alloc.allocate_create(again)

    def test_update_keeps_and_changes(self) -> None:
        """An update keeps the address, frees NodePorts only once the write is committed."""
        old = service({"type": "NodePort", "ports": [{"name": "http", "port": 80}]})
        self.alloc.allocate_create(old)
        node_port = old["spec"]["ports"][0]["nodePort"]
        new = service({"type": "ClusterIP", "ports": [{"name": "http", "port": 80,
                                                       "nodePort": node_port}]})
        txn = self.alloc.allocate_update(new, old)
        self.assertEqual(new["spec"]["clusterIP"], old["spec"]["clusterIP"])
        self.assertNotIn("nodePort", new["spec"]["ports"][0])
        self.assertTrue(self.alloc.node_ports.is_allocated(node_port))
        txn.commit()
        self.assertFalse(self.alloc.node_ports.is_allocated(node_port))

    def test_update_cluster_ip_immutable(self) -> None:
        """Changing the cluster IP is 422 "may not change once set"."""
        old = service({})
        self.alloc.allocate_create(old)
        new = service({"clusterIP": "10.0.0.99"})
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_update(new, old)
        self.assertEqual(caught.exception.message,
                         'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: '
                         '["10.0.0.99"]: may not change once set')

    def test_update_to_external_name_and_back(self) -> None:
        """Becoming an ExternalName frees the address; becoming ClusterIP again takes one."""
        old = service({"ports": [{"port": 80}]})
        self.alloc.allocate_create(old)
        new = service({"type": "ExternalName", "externalName": "x.example.com",
                       "clusterIP": old["spec"]["clusterIP"],
                       "clusterIPs": old["spec"]["clusterIPs"],
                       "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                       "internalTrafficPolicy": "Cluster", "ports": [{"port": 80}]})
        self.alloc.allocate_update(new, old).commit()
        self.assertEqual(self.alloc.allocated_ips(), (0,))
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                    "internalTrafficPolicy"):
            self.assertNotIn(key, new["spec"])
        back = service({"type": "ClusterIP", "ports": [{"port": 80}]})
        self.alloc.allocate_update(back, new).commit()
        self.assertIn("clusterIP", back["spec"])
        self.assertEqual(self.alloc.allocated_ips(), (1,))

    def test_update_node_port_change(self) -> None:
        """A new NodePort is taken now; the old one is freed on commit, kept on revert."""
        old = service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30001}]})
        self.alloc.allocate_create(old)
        new = service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30002}]})
        txn = self.alloc.allocate_update(new, old)
        self.assertTrue(self.alloc.node_ports.is_allocated(30002))
        txn.revert()
        self.assertFalse(self.alloc.node_ports.is_allocated(30002))
        self.assertTrue(self.alloc.node_ports.is_allocated(30001))

    def test_rebuild(self) -> None:
        """After a restart, stored Services' addresses and ports are taken again."""
        stored = [service({"clusterIP": "10.0.0.20", "type": "NodePort",
                           "clusterIPs": ["10.0.0.20"],
                           "ports": [{"port": 80, "nodePort": 30020}]}),
                  service({"clusterIP": "None"}), service({"type": "ExternalName"})]
        fresh = ServiceAllocation()
        fresh.rebuild(stored)
        self.assertEqual(fresh.allocated_ips(), (1,))
        with self.assertRaises(APIError):
            fresh.allocate_create(service({"clusterIP": "10.0.0.20"}, "dup"))
        with self.assertRaises(APIError):
            fresh.allocate_create(service({"type": "NodePort",
                                           "ports": [{"port": 1, "nodePort": 30020}]}, "dup2"))


class ClusterIPFieldsTests(SynchronousTestCase):

    def setUp(self) -> None:
        self.alloc = ServiceAllocation()

    def test_singular_fills_plural(self) -> None:
        """An old client's clusterIP alone fills clusterIPs."""
        svc = service({"clusterIP": "10.0.0.40"})
        self.alloc.allocate_create(svc)
        self.assertEqual(svc["spec"]["clusterIPs"], ["10.0.0.40"])

    def test_mismatch(self) -> None:
        """clusterIPs must start with clusterIP, and be empty without it."""
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"clusterIP": "10.0.0.40",
                                                "clusterIPs": ["10.0.0.41"]}))
        self.assertIn('spec.clusterIPs: Invalid value: ["10.0.0.41"]: first value must match '
                      "`clusterIP`", caught.exception.message)
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_create(service({"clusterIPs": ["10.0.0.41"]}))
        self.assertIn("must be empty when `clusterIP` is not specified", caught.exception.message)

    def test_changed_singular_is_immutable(self) -> None:
        """Changing only clusterIP (clusterIPs as before) is refused, not allocated."""
        old = service({})
        self.alloc.allocate_create(old)
        new = service({"clusterIP": "10.0.0.77", "clusterIPs": list(old["spec"]["clusterIPs"])})
        with self.assertRaises(APIError) as caught:
            self.alloc.allocate_update(new, old)
        self.assertIn("may not change once set", caught.exception.message)
        self.assertFalse(self.alloc.ip_allocators["IPv4"].is_allocated("10.0.0.77"))
