"""
Tests for L{kapi_twisted.patch.schema}: reading merge metadata from OpenAPI v2
definitions. L{DEFINITIONS} is also the schema the strategic merge tests use.
"""

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.patch import OpenAPIPatchSchema, PatchSchema, find_definition


def _ref(name):
    return {"$ref": "#/definitions/" + name}


def _merge_list(item, key=None, strategy="merge"):
    prop = {"type": "array", "items": _ref(item), "x-kubernetes-patch-strategy": strategy}
    if key:
        prop["x-kubernetes-patch-merge-key"] = key
    return prop


_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_STRING_MAP = {"type": "object", "additionalProperties": _STRING}

META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."

# The shapes kube-apiserver publishes at /openapi/v2, cut down to the fields
# the patch tests touch.
DEFINITIONS = {
    META: {
        "type": "object",
        "properties": {
            "name": _STRING,
            "labels": _STRING_MAP,
            "annotations": _STRING_MAP,
            "finalizers": {
                "type": "array",
                "items": _STRING,
                "x-kubernetes-patch-strategy": "merge",
            },
            "ownerReferences": _merge_list(
                "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", "uid"
            ),
        },
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference": {
        "type": "object",
        "properties": {"uid": _STRING, "name": _STRING, "kind": _STRING},
    },
    APPS + "Deployment": {
        "type": "object",
        "properties": {
            "apiVersion": _STRING,
            "kind": _STRING,
            "metadata": _ref(META),
            "spec": _ref(APPS + "DeploymentSpec"),
        },
        "x-kubernetes-group-version-kind": [
            {"group": "apps", "version": "v1", "kind": "Deployment"}
        ],
    },
    APPS + "DeploymentSpec": {
        "type": "object",
        "properties": {
            "replicas": {"type": "integer"},
            "strategy": dict(
                _ref(APPS + "DeploymentStrategy"),
                **{"x-kubernetes-patch-strategy": "retainKeys"},
            ),
            # OpenAPI v3 style wrapping, to check the adapter follows it.
            "template": {"allOf": [_ref(CORE + "PodTemplateSpec")]},
        },
    },
    APPS + "DeploymentStrategy": {
        "type": "object",
        "properties": {
            "type": _STRING,
            "rollingUpdate": _ref(APPS + "RollingUpdateDeployment"),
        },
    },
    APPS + "RollingUpdateDeployment": {
        "type": "object",
        "properties": {"maxSurge": _STRING, "maxUnavailable": _STRING},
    },
    CORE + "PodTemplateSpec": {
        "type": "object",
        "properties": {"metadata": _ref(META), "spec": _ref(CORE + "PodSpec")},
    },
    CORE + "Pod": {
        "type": "object",
        "properties": {"metadata": _ref(META), "spec": _ref(CORE + "PodSpec")},
        "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}],
    },
    CORE + "PodSpec": {
        "type": "object",
        "properties": {
            "containers": _merge_list(CORE + "Container", "name"),
            "initContainers": _merge_list(CORE + "Container", "name"),
            "volumes": _merge_list(CORE + "Volume", "name", "merge,retainKeys"),
            "imagePullSecrets": _merge_list(CORE + "LocalObjectReference", "name"),
            "tolerations": {"type": "array", "items": _ref(CORE + "Toleration")},
            "nodeSelector": _STRING_MAP,
        },
    },
    CORE + "Container": {
        "type": "object",
        "properties": {
            "name": _STRING,
            "image": _STRING,
            "args": _STRINGS,
            "command": _STRINGS,
            "env": _merge_list(CORE + "EnvVar", "name"),
            "volumeMounts": _merge_list(CORE + "VolumeMount", "mountPath"),
            "ports": _merge_list(CORE + "ContainerPort", "containerPort"),
            "resources": _ref(CORE + "ResourceRequirements"),
        },
    },
    CORE + "EnvVar": {
        "type": "object",
        "properties": {"name": _STRING, "value": _STRING, "valueFrom": {"type": "object"}},
    },
    CORE + "VolumeMount": {
        "type": "object",
        "properties": {"name": _STRING, "mountPath": _STRING},
    },
    CORE + "ContainerPort": {
        "type": "object",
        "properties": {"containerPort": {"type": "integer"}, "protocol": _STRING},
    },
    CORE + "ResourceRequirements": {
        "type": "object",
        "properties": {"limits": _STRING_MAP, "requests": _STRING_MAP},
    },
    CORE + "Volume": {
        "type": "object",
        "properties": {
            "name": _STRING,
            "emptyDir": {"type": "object"},
            "hostPath": {"type": "object"},
            "configMap": {"type": "object"},
        },
    },
    CORE + "LocalObjectReference": {"type": "object", "properties": {"name": _STRING}},
    CORE + "Toleration": {
        "type": "object",
        "properties": {"key": _STRING, "value": _STRING, "effect": _STRING},
    },
    CORE + "Service": {
        "type": "object",
        "properties": {"metadata": _ref(META), "spec": _ref(CORE + "ServiceSpec")},
        "x-kubernetes-group-version-kind": [
            {"group": "", "version": "v1", "kind": "Service"}
        ],
    },
    CORE + "ServiceSpec": {
        "type": "object",
        "properties": {"ports": _merge_list(CORE + "ServicePort", "port")},
    },
    CORE + "ServicePort": {
        "type": "object",
        "properties": {"port": {"type": "integer"}, "name": _STRING},
    },
}


def deployment_schema():
    return OpenAPIPatchSchema.for_definition(DEFINITIONS, APPS + "Deployment")


class OpenAPIPatchSchemaTests(SynchronousTestCase):
    """
    The adapter finds strategies and merge keys where Kubernetes publishes them.
    """

    def test_provides_protocol(self):
        """The adapter is a PatchSchema."""
        schema = deployment_schema()
        self.assertIsInstance(schema, OpenAPIPatchSchema)
        checked: PatchSchema = schema
        self.assertIsNone(checked.patch_strategy)
        self.assertIsNone(checked.patch_merge_key)

    def test_containers_merge_by_name(self):
        """spec.template.spec.containers is merged by name, through $ref and allOf."""
        pod_spec = deployment_schema().field("spec").field("template").field("spec")
        containers = pod_spec.field("containers")
        self.assertEqual(containers.patch_strategy, "merge")
        self.assertEqual(containers.patch_merge_key, "name")
        container = containers.items()
        env = container.field("env")
        self.assertEqual((env.patch_strategy, env.patch_merge_key), ("merge", "name"))
        mounts = container.field("volumeMounts")
        self.assertEqual(mounts.patch_merge_key, "mountPath")
        ports = container.field("ports")
        self.assertEqual(ports.patch_merge_key, "containerPort")

    def test_other_strategies(self):
        """Finalizers merge as a set, tolerations have no strategy, volumes retain keys."""
        schema = deployment_schema()
        finalizers = schema.field("metadata").field("finalizers")
        self.assertEqual(finalizers.patch_strategy, "merge")
        self.assertIsNone(finalizers.patch_merge_key)
        pod_spec = schema.field("spec").field("template").field("spec")
        self.assertIsNone(pod_spec.field("tolerations").patch_strategy)
        self.assertEqual(pod_spec.field("volumes").patch_strategy, "merge,retainKeys")
        self.assertEqual(schema.field("spec").field("strategy").patch_strategy, "retainKeys")

    def test_maps_and_unknown_fields(self):
        """Any key of a map has the value schema; unknown fields have none."""
        meta = deployment_schema().field("metadata")
        self.assertIsNotNone(meta.field("labels").field("anything"))
        self.assertIsNone(meta.field("nonsense"))
        self.assertIsNone(meta.field("name").items())
        self.assertIsNone(meta.field("name").field("x"))

    def test_for_kind(self):
        """A definition is found by its group/version/kind."""
        self.assertEqual(find_definition(DEFINITIONS, "", "v1", "Pod"), CORE + "Pod")
        pod = OpenAPIPatchSchema.for_kind(DEFINITIONS, "", "v1", "Pod")
        self.assertEqual(pod.field("spec").field("containers").patch_merge_key, "name")
        self.assertIsNone(OpenAPIPatchSchema.for_kind(DEFINITIONS, "x", "v1", "Pod"))

    def test_dangling_reference(self):
        """A $ref to a missing definition behaves as an unknown schema."""
        schema = OpenAPIPatchSchema({}, {"$ref": "#/definitions/missing"})
        self.assertIsNone(schema.field("a"))
        self.assertIsNone(schema.items())


class BuiltInDefinitionsTests(SynchronousTestCase):
    """
    The adapter reads the server's own definitions of the built-in types.
    """

    def setUp(self):
        try:
            from kapi_twisted.apis import openapi
        except ImportError as e:  # pragma: no cover
            raise self.skipTest(f"built-in definitions unavailable: {e}")
        self.definitions = openapi.definitions()

    def test_deployment(self):
        """Deployment containers, env, volumes and strategy carry kube's metadata."""
        schema = OpenAPIPatchSchema.for_kind(self.definitions, "apps", "v1", "Deployment")
        pod_spec = schema.field("spec").field("template").field("spec")
        containers = pod_spec.field("containers")
        self.assertEqual((containers.patch_strategy, containers.patch_merge_key), ("merge", "name"))
        env = containers.items().field("env")
        self.assertEqual((env.patch_strategy, env.patch_merge_key), ("merge", "name"))
        self.assertEqual(pod_spec.field("volumes").patch_strategy, "merge,retainKeys")
        self.assertIsNone(pod_spec.field("tolerations").patch_strategy)
        self.assertEqual(schema.field("spec").field("strategy").patch_strategy, "retainKeys")
        finalizers = schema.field("metadata").field("finalizers")
        self.assertEqual(finalizers.patch_strategy, "merge")
