"""
Tests for L{kapi_twisted.apis.protobuf}: reading and writing Kubernetes' protobuf bodies.

The bodies here are written byte by byte with a tiny writer of the test's own, laid out as
Go's generated marshalling code lays them out (every plain field written, zero or not).
"""

import base64
import struct

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apis import protobuf


# --- a minimal, independent protobuf writer ------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vfield(num, value):
    """A varint field."""
    return varint(num << 3) + varint(value)


def lfield(num, payload):
    """A length-delimited field (string, bytes, message)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint((num << 3) | 2) + varint(len(payload)) + payload


def entry(num, key, value):
    """One map entry (key 1, value 2)."""
    return lfield(num, lfield(1, key) + lfield(2, value))


def envelope(api_version, kind, raw):
    """k8s\\0 + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}."""
    type_meta = lfield(1, api_version) + lfield(2, kind)
    return b"k8s\x00" + lfield(1, type_meta) + lfield(2, raw) + lfield(3, b"") + lfield(4, b"")


def object_meta(name, namespace="", labels=None, created=None):
    """ObjectMeta as Go writes it: every plain string, generation and creationTimestamp."""
    out = (lfield(1, name) + lfield(2, "") + lfield(3, namespace) + lfield(4, "") +
           lfield(5, "") + lfield(6, "") + vfield(7, 0))
    out += lfield(8, b"" if created is None else vfield(1, created) + vfield(2, 0))
    for k, v in sorted((labels or {}).items()):
        out += entry(11, k, v)
    return out


class DecodeTests(SynchronousTestCase):
    """Protobuf bodies decode to what the JSON encoding of the object would be."""

    def test_configmap(self):
        """A ConfigMap from `kubectl create configmap` reads as kubectl's JSON."""
        raw = lfield(1, object_meta("x")) + entry(2, "a", "b") + entry(2, "c", "")
        body = envelope("v1", "ConfigMap", raw)
        self.assertEqual(protobuf.decode(body), {
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "x", "creationTimestamp": None},
            "data": {"a": "b", "c": ""}})

    def test_secret_bytes_are_base64(self):
        """Secret data (bytes) comes out base64-encoded, as in JSON."""
        raw = (lfield(1, object_meta("s", "default")) + entry(2, "k", b"\x00\xffv") +
               lfield(3, "Opaque"))
        obj = protobuf.decode(envelope("v1", "Secret", raw))
        self.assertEqual(obj["data"], {"k": base64.b64encode(b"\x00\xffv").decode()})
        self.assertEqual(obj["type"], "Opaque")
        self.assertEqual(obj["metadata"]["namespace"], "default")

    def test_namespace_empty_structs(self):
        """Plain nested structs appear as {} (spec, status), as Go's JSON writes them."""
        raw = lfield(1, object_meta("ns1")) + lfield(2, b"") + lfield(3, lfield(1, ""))
        self.assertEqual(protobuf.decode(envelope("v1", "Namespace", raw)), {
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": "ns1", "creationTimestamp": None}, "spec": {}, "status": {}})

    def test_time_and_labels(self):
        """Time is an RFC 3339 UTC string to the second; labels are a map."""
        raw = lfield(1, object_meta("x", labels={"app": "web", "tier": "a"},
                                    created=1714564800))
        obj = protobuf.decode(envelope("v1", "ConfigMap", raw))
        self.assertEqual(obj["metadata"]["creationTimestamp"], "2024-05-01T12:00:00Z")
        self.assertEqual(obj["metadata"]["labels"], {"app": "web", "tier": "a"})

    def test_deployment_pointer_zero_and_intorstring(self):
        """replicas: 0 (a pointer) is kept; minReadySeconds: 0 (plain) is dropped; IntOrString."""
        container = (lfield(1, "nginx") + lfield(2, "nginx") +
                     lfield(6, lfield(1, "") + vfield(2, 0) + vfield(3, 80) + lfield(4, "TCP")) +   # ports
                     lfield(8, b""))                                 # resources {}
        pod_spec = lfield(2, container)
        template = lfield(1, object_meta("", labels={"app": "web"})) + lfield(2, pod_spec)
        rolling = lfield(1, vfield(1, 0) + vfield(2, 1) + lfield(3, "")) + \
            lfield(2, vfield(1, 1) + vfield(2, 0) + lfield(3, "25%"))
        spec = (vfield(1, 0) +                                   # replicas (pointer, set)
                lfield(2, entry(1, "app", "web")) +                     # selector.matchLabels
                lfield(3, template) +
                lfield(4, lfield(1, "RollingUpdate") + lfield(2, rolling)) +
                vfield(5, 0) +                                   # minReadySeconds (plain)
                vfield(7, 0))                                    # paused (plain)
        raw = lfield(1, object_meta("web", labels={"app": "web"})) + lfield(2, spec) + \
            lfield(3, b"")
        obj = protobuf.decode(envelope("apps/v1", "Deployment", raw))
        spec_out = obj["spec"]
        self.assertEqual(spec_out["replicas"], 0)
        self.assertNotIn("minReadySeconds", spec_out)
        self.assertNotIn("paused", spec_out)
        self.assertEqual(spec_out["selector"], {"matchLabels": {"app": "web"}})
        self.assertEqual(spec_out["strategy"], {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}})
        self.assertEqual(spec_out["template"]["spec"]["containers"], [{
            "name": "nginx", "image": "nginx",
            "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {}}])
        self.assertEqual(obj["status"], {})

    def test_explicit_false_pointer(self):
        """automountServiceAccountToken: false survives (a *bool); hostNetwork: false does not."""
        pod_spec = vfield(21, 0) + vfield(11, 0)
        raw = lfield(1, object_meta("p")) + lfield(2, pod_spec)
        obj = protobuf.decode(envelope("v1", "Pod", raw))
        self.assertEqual(obj["spec"], {"automountServiceAccountToken": False})

    def test_required_zero_kept(self):
        """A required scalar is kept even when zero (containerPort: 0, name: "")."""
        container = lfield(1, "") + lfield(6, vfield(3, 0))
        raw = lfield(1, object_meta("p")) + lfield(2, lfield(2, container))
        obj = protobuf.decode(envelope("v1", "Pod", raw))
        self.assertEqual(obj["spec"]["containers"], [{"name": "", "ports": [{"containerPort": 0}]}])

    def test_negative_int32(self):
        """Negative int32 values (10-byte varints) decode as negative numbers."""
        toleration = lfield(1, "k") + vfield(5, -5)
        raw = lfield(1, object_meta("p")) + lfield(2, lfield(22, toleration))
        obj = protobuf.decode(envelope("v1", "Pod", raw))
        self.assertEqual(obj["spec"]["tolerations"], [{"key": "k", "tolerationSeconds": -5}])

    def test_quantity_map(self):
        """Quantities are strings inside resource maps."""
        qty = lambda s: lfield(1, s)  # noqa: E731
        resources = entry(1, "cpu", qty("100m")) + entry(1, "memory", qty("1Gi"))
        container = lfield(1, "c") + lfield(8, resources)
        raw = lfield(1, object_meta("p")) + lfield(2, lfield(2, container))
        obj = protobuf.decode(envelope("v1", "Pod", raw))
        self.assertEqual(obj["spec"]["containers"][0]["resources"],
                         {"limits": {"cpu": "100m", "memory": "1Gi"}})

    def test_microtime(self):
        """Lease times (MicroTime) keep microseconds: 6 fractional digits."""
        spec = lfield(1, "me") + vfield(2, 15) + lfield(4, vfield(1, 1714564800) +
                                                     vfield(2, 123456789))
        raw = lfield(1, object_meta("l", "kube-system")) + lfield(2, spec)
        obj = protobuf.decode(envelope("coordination.k8s.io/v1", "Lease", raw))
        self.assertEqual(obj["spec"], {"holderIdentity": "me", "leaseDurationSeconds": 15,
                                       "renewTime": "2024-05-01T12:00:00.123456Z"})

    def test_raw_extension(self):
        """RawExtension (ControllerRevision.data) is the embedded JSON."""
        raw = lfield(1, object_meta("r")) + lfield(2, lfield(1, b'{"spec":{"a":1}}')) + \
            vfield(3, 2)
        obj = protobuf.decode(envelope("apps/v1", "ControllerRevision", raw))
        self.assertEqual(obj["data"], {"spec": {"a": 1}})
        self.assertEqual(obj["revision"], 2)

    def test_inline_embedded_struct(self):
        """Embedded structs are inlined: env valueFrom.configMapKeyRef has name beside key."""
        selector = lfield(1, lfield(1, "cm")) + lfield(2, "k") + vfield(3, 1)
        env = lfield(1, "E") + lfield(2, "") + lfield(3, lfield(3, selector))
        container = lfield(1, "c") + lfield(7, env)
        volume = lfield(1, "v") + lfield(2, lfield(1, lfield(1, "/data") + lfield(2, "")))
        pod_spec = lfield(1, volume) + lfield(2, container)
        obj = protobuf.decode(envelope("v1", "Pod", lfield(1, object_meta("p")) +
                                       lfield(2, pod_spec)))
        self.assertEqual(obj["spec"]["containers"][0]["env"], [
            {"name": "E", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k",
                                                            "optional": True}}}])
        self.assertEqual(obj["spec"]["volumes"], [{"name": "v", "hostPath": {"path": "/data"}}])

    def test_named_slice_map(self):
        """ExtraValue (a named []string) is a bare list inside SubjectAccessReview.spec.extra."""
        extra = lfield(1, "a") + lfield(1, "b")
        spec = lfield(3, "alice") + lfield(4, "g1") + lfield(4, "g2") + entry(5, "scopes", extra)
        raw = lfield(1, object_meta("")) + lfield(2, spec)
        obj = protobuf.decode(envelope("authorization.k8s.io/v1", "SubjectAccessReview", raw))
        self.assertEqual(obj["spec"], {"user": "alice", "groups": ["g1", "g2"],
                                       "extra": {"scopes": ["a", "b"]}})

    def test_packed_repeated(self):
        """Packed repeated numbers are accepted as well as unpacked ones."""
        packed = varint(10) + varint(20)
        payload = lfield(4, packed) + vfield(4, 30)  # supplementalGroups (int64)
        raw = lfield(1, object_meta("p")) + lfield(2, lfield(14, payload))
        obj = protobuf.decode(envelope("v1", "Pod", raw))
        self.assertEqual(obj["spec"]["securityContext"]["supplementalGroups"], [10, 20, 30])

    def test_unknown_fields_dropped(self):
        """Fields the schema does not know are skipped, as Go's decoder does."""
        raw = lfield(1, object_meta("x")) + lfield(99, "junk") + vfield(98, 5) + \
            varint((97 << 3) | 1) + struct.pack("<d", 1.5) + entry(2, "a", "b")
        self.assertEqual(protobuf.decode(envelope("v1", "ConfigMap", raw))["data"], {"a": "b"})

    def test_envelope_kind_fallback(self):
        """An envelope without typeMeta uses the kind the caller expects."""
        body = b"k8s\x00" + lfield(2, lfield(1, object_meta("x")))
        obj = protobuf.decode(body, "v1", "ConfigMap")
        self.assertEqual(obj["kind"], "ConfigMap")
        self.assertRaises(protobuf.ProtobufError, protobuf.decode, body)

    def test_errors(self):
        """Unreadable bodies raise ProtobufError (the server answers 400), never crash."""
        good = envelope("v1", "ConfigMap", lfield(1, object_meta("x")))
        for bad in (b"", b"{}", b"k8s", good[:-3], envelope("v1", "NoSuchKind", b""),
                    envelope("example.com/v1", "Widget", b""),
                    b"k8s\x00" + lfield(1, lfield(1, "v1") + lfield(2, "ConfigMap")) +
                    lfield(2, b"\x0a\x05ab") + lfield(3, "gzip"),
                    envelope("v1", "ConfigMap", lfield(1, lfield(1, b"\xff\xfe"))),
                    envelope("v1", "ConfigMap", b"\x0f"),
                    # a string field sent as a varint, a varint field sent as bytes
                    envelope("v1", "ConfigMap", lfield(1, vfield(1, 5))),
                    envelope("v1", "Pod", lfield(2, lfield(21, b"x"))),
                    # an IntOrString whose string arrives as a varint
                    envelope("v1", "Service", lfield(2, lfield(1, lfield(4, vfield(1, 1) +
                                                                          vfield(3, 7)))))):
            self.assertRaises(protobuf.ProtobufError, protobuf.decode, bad)

    def test_message_for(self):
        """Kinds map to their messages; meta kinds too."""
        self.assertEqual(protobuf.message_for("apps/v1", "Deployment"),
                         "k8s.io.api.apps.v1.Deployment")
        self.assertEqual(protobuf.message_for("v1", "DeleteOptions"),
                         "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions")
        self.assertIsNone(protobuf.message_for("apps/v1", "Nope"))


class EncodeTests(SynchronousTestCase):
    """JSON-form objects encode to protobuf and read back unchanged."""

    def assertRoundTrip(self, obj):
        self.assertEqual(protobuf.decode(protobuf.encode(obj)), obj)

    def test_envelope(self):
        """The encoding starts with k8s\\0 and a runtime.Unknown naming apiVersion and kind."""
        body = protobuf.encode({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "x"}})
        self.assertTrue(body.startswith(b"k8s\x00" + lfield(1, lfield(1, "v1") +
                                                            lfield(2, "ConfigMap"))))

    def test_matches_hand_written_bytes(self):
        """The object message is the bytes a protobuf writer produces for the same fields."""
        body = protobuf.encode({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "x"}, "data": {"a": "b"}})
        expected_raw = lfield(1, lfield(1, "x")) + entry(2, "a", "b")
        self.assertIn(lfield(2, expected_raw), body)

    def test_round_trips(self):
        """Common objects survive encode then decode."""
        self.assertRoundTrip({
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": None,
                         "labels": {"app": "web"}, "annotations": {"a": "b"},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o",
                                              "uid": "u", "controller": True}]},
            "spec": {"replicas": 3, "selector": {"matchExpressions": [
                {"key": "app", "operator": "In", "values": ["web"]}]},
                "template": {"metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                             "spec": {"containers": [{
                                 "name": "c", "image": "nginx",
                                 "resources": {"requests": {"cpu": "250m"}},
                                 "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                    "periodSeconds": 5},
                                 "env": [{"name": "A", "value": "1"}]}],
                                 "terminationGracePeriodSeconds": 0}},
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}},
            "status": {"replicas": 3, "conditions": [{
                "type": "Available", "status": "True",
                "lastTransitionTime": "2024-05-01T12:00:00Z"}]}})
        self.assertRoundTrip({"kind": "Secret", "apiVersion": "v1",
                              "metadata": {"name": "s"}, "data": {"k": "dg=="},
                              "type": "kubernetes.io/tls", "immutable": False})
        self.assertRoundTrip({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                              "metadata": {"name": "l"},
                              "spec": {"holderIdentity": "a",
                                       "acquireTime": "2024-05-01T12:00:00.000001Z"}})
        self.assertRoundTrip({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s"},
                              "spec": {"ports": [{"port": 80, "targetPort": "http"}],
                                       "selector": {"a": "b"}, "type": "ClusterIP"}})
        self.assertRoundTrip({"kind": "ControllerRevision", "apiVersion": "apps/v1",
                              "metadata": {"name": "r"}, "data": {"x": [1, "y"]},
                              "revision": 1})

    def test_time_offsets_normalised(self):
        """Times with offsets or fractions encode as UTC seconds."""
        body = protobuf.encode({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {
            "name": "x", "creationTimestamp": "2024-05-01T14:00:00.5+02:00"}})
        self.assertEqual(protobuf.decode(body)["metadata"]["creationTimestamp"],
                         "2024-05-01T12:00:00Z")

    def test_lists_and_meta_kinds(self):
        """Lists, Status and the metadata client's PartialObjectMetadataList encode and read back."""
        self.assertRoundTrip({"kind": "ConfigMapList", "apiVersion": "v1",
                              "metadata": {"resourceVersion": "12", "continue": "abc",
                                           "remainingItemCount": 0},
                              "items": [{"metadata": {"name": "a", "namespace": "d"},
                                         "data": {"k": "v"}}]})
        self.assertRoundTrip({"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Failure", "message": "not found", "reason": "NotFound",
                              "details": {"name": "x", "kind": "configmaps"}, "code": 404})
        self.assertRoundTrip({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                              "metadata": {"resourceVersion": "5"},
                              "items": [{"metadata": {"name": "a", "uid": "u",
                                                      "resourceVersion": "4"}}]})

    def test_watch_event_frames(self):
        """Watch frames are length-prefixed WatchEvents whose object is an enveloped object."""
        obj = {"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": "a", "resourceVersion": "7"}}
        frame = protobuf.encode_watch_event("ADDED", obj)
        length = struct.unpack(">I", frame[:4])[0]
        self.assertEqual(length, len(frame) - 4)
        message = frame[4:]
        self.assertEqual(message, lfield(1, "ADDED") + lfield(2, lfield(1, protobuf.encode(obj))))
        self.assertEqual(protobuf.decode_watch_event(message), {"type": "ADDED", "object": obj})

    def test_wrong_value_types(self):
        """Values that do not fit their fields are ProtobufErrors, not crashes."""
        for obj in ({"kind": "Deployment", "apiVersion": "apps/v1", "spec": {"replicas": "x"}},
                    {"kind": "ConfigMap", "apiVersion": "v1", "metadata": "x"},
                    {"kind": "Secret", "apiVersion": "v1", "data": {"k": "not base64!"}},
                    {"kind": "ConfigMap", "apiVersion": "v1",
                     "metadata": {"creationTimestamp": "yesterday"}}):
            self.assertRaises(protobuf.ProtobufError, protobuf.encode, obj)

    def test_unknown_kind(self):
        """Encoding a kind with no protobuf schema is an error."""
        self.assertRaises(protobuf.ProtobufError, protobuf.encode,
                          {"apiVersion": "example.com/v1", "kind": "Widget"})


class DurationTests(SynchronousTestCase):
    """Durations read and print as Go's time.Duration does."""

    def test_format(self):
        """Go's spellings: 0s, 1.5µs, 300ms, 1m1s, 1h0m0s, -2s."""
        cases = {0: "0s", 999: "999ns", 1500: "1.5\u00b5s", 300000000: "300ms",
                 61000000000: "1m1s", 3600000000000: "1h0m0s", -2000000000: "-2s",
                 1500000000: "1.5s"}
        for nanos, text in cases.items():
            self.assertEqual(protobuf.format_duration(nanos), text)
            self.assertEqual(protobuf.parse_duration(text), nanos)

    def test_parse(self):
        """Compound and fractional durations parse; junk does not."""
        self.assertEqual(protobuf.parse_duration("1h30m"), 5400000000000)
        self.assertEqual(protobuf.parse_duration("0.5s"), 500000000)
        self.assertEqual(protobuf.parse_duration("10us"), 10000)
        self.assertRaises(protobuf.ProtobufError, protobuf.parse_duration, "5 minutes")
        self.assertRaises(protobuf.ProtobufError, protobuf.parse_duration, "")

    def test_decode_duration_message(self):
        """A meta/v1 Duration message reads as its Go string."""
        self.assertEqual(protobuf.decode_message(
            "k8s.io.apimachinery.pkg.apis.meta.v1.TableOptions", b""), {})
        self.assertEqual(protobuf._decode_special(
            "k8s.io.apimachinery.pkg.apis.meta.v1.Duration", vfield(1, 90 * 10 ** 9)), "1m30s")
