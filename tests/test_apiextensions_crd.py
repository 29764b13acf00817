"""
Validation of CustomResourceDefinitions: the 422 causes kubectl prints when a
CRD is refused, with kube-apiserver's (internal-API) field paths.
"""

from __future__ import annotations

import copy

import yaml
from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apiextensions.schema import CompiledSchema

from kapi_twisted.apiextensions.validation import default_crd, stored_versions, validate_crd

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {
            "cronSpec": {"type": "string"},
            "image": {"type": "string"},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
        }},
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    },
}


def crontab_crd(**spec_overrides) -> dict:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": copy.deepcopy(SCHEMA)},
                          "subresources": {"status": {}, "scale": {
                              "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                          "additionalPrinterColumns": [
                              {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                              {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}]}],
        },
    }
    crd["spec"].update(spec_overrides)
    return default_crd(crd)


def spec_props(crd: dict) -> dict:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]


def causes(crd: dict, old: dict = None):
    return [(c["field"], c["message"]) for c in validate_crd(crd, old)]


S = "spec.validation.openAPIV3Schema"


class CRDTests(SynchronousTestCase):
    def test_valid(self):
        """The CronTab CRD from the Kubernetes docs is accepted."""
        self.assertEqual(validate_crd(crontab_crd()), [])

    def test_defaults(self):
        """singular, listKind and the None conversion are defaulted."""
        crd = default_crd({"spec": {"names": {"kind": "CronTab", "plural": "crontabs"}}})
        self.assertEqual(crd["spec"]["names"]["singular"], "crontab")
        self.assertEqual(crd["spec"]["names"]["listKind"], "CronTabList")
        self.assertEqual(crd["spec"]["conversion"], {"strategy": "None"})

    def test_name_must_be_plural_dot_group(self):
        """metadata.name must be <plural>.<group>."""
        crd = crontab_crd()
        crd["metadata"]["name"] = "crontab.stable.example.com"
        self.assertEqual(causes(crd), [
            ("metadata.name", 'Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group')])

    def test_group_needs_a_dot(self):
        """A group without a dot is refused."""
        crd = crontab_crd(group="example")
        crd["metadata"]["name"] = "crontabs.example"
        self.assertEqual(causes(crd), [("spec.group", 'Invalid value: "example": should be a domain with at least one dot')])

    def test_scope(self):
        """scope must be Namespaced or Cluster."""
        self.assertEqual(causes(crontab_crd(scope="Global")), [
            ("spec.scope", 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"')])
        self.assertEqual(causes(crontab_crd(scope="")), [("spec.scope", "Required value")])

    def test_names(self):
        """Kinds may be mixed case but otherwise DNS-1035 labels; kind and listKind differ."""
        crd = crontab_crd()
        crd["spec"]["names"].update({"kind": "Cron_Tab", "listKind": "Cron_Tab", "shortNames": ["c-"]})
        got = causes(crd)
        self.assertIn(("spec.names.listKind", 'Invalid value: "Cron_Tab": kind and listKind may not be the same'), got)
        fields = [f for f, _ in got]
        self.assertEqual(fields, ["spec.names.kind", "spec.names.listKind", "spec.names.shortNames[0]",
                                  "spec.names.listKind"])
        self.assertTrue(got[0][1].startswith(
            'Invalid value: "Cron_Tab": may have mixed case, but should otherwise match: a DNS-1035 label'))

    def test_exactly_one_storage_version(self):
        """Duplicate names and two storage versions are refused (kube also flags storedVersions)."""
        crd = crontab_crd()
        v2 = copy.deepcopy(crd["spec"]["versions"][0])
        crd["spec"]["versions"].append(v2)
        got = causes(crd)
        self.assertEqual([f for f, _ in got], ["spec.versions", "spec.versions", "status.storedVersions"])
        self.assertTrue(got[0][1].endswith(": must contain unique version names"))
        self.assertTrue(got[1][1].endswith(": must have exactly one version marked as storage version"))

    def test_schema_required(self):
        """A v1 CRD version without a schema is refused."""
        crd = crontab_crd()
        del crd["spec"]["versions"][0]["schema"]
        crd["spec"]["versions"][0].pop("subresources")
        self.assertEqual(causes(crd), [
            ("spec.versions[0].schema.openAPIV3Schema", "Required value: schemas are required")])

    def test_structural_type_required(self):
        """Every specified field needs a type."""
        crd = crontab_crd()
        spec_props(crd)["foo"] = {"properties": {"bar": {"type": "string"}}}
        self.assertEqual(causes(crd), [
            (f"{S}.properties[spec].properties[foo].type", "Required value: must not be empty for specified object fields")])

    def test_per_version_paths(self):
        """With different schemas per version the errors name spec.versions[i]."""
        crd = crontab_crd()
        v2 = copy.deepcopy(crd["spec"]["versions"][0])
        v2.update(name="v2", storage=False)
        crd["spec"]["versions"].append(v2)
        spec_props(crd)["foo"] = {"items": {"type": "string"}}
        got = causes(crd)
        self.assertEqual(got, [("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[foo].type",
                                "Required value: must not be empty for specified object fields")])

    def test_additional_properties_with_properties(self):
        """additionalProperties and properties may not be combined."""
        crd = crontab_crd()
        spec_props(crd)["m"] = {"type": "object", "properties": {"a": {"type": "string"}},
                                "additionalProperties": {"type": "string"}}
        self.assertEqual(causes(crd), [(f"{S}.properties[spec].properties[m].additionalProperties",
                                        "Forbidden: additionalProperties and properties are mutual exclusive")])

    def test_metadata_restrictions(self):
        """The root metadata schema may only restrict name and generateName."""
        crd = crontab_crd()
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] = {
            "type": "object", "properties": {"labels": {"type": "object"}}}
        self.assertEqual(causes(crd), [(f"{S}.properties[metadata]",
            "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified")])
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] = {
            "type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}
        self.assertEqual(causes(crd), [])

    def test_default_must_validate(self):
        """A default must satisfy its own schema."""
        crd = crontab_crd()
        spec_props(crd)["replicas"]["default"] = 20
        self.assertEqual(causes(crd), [(f"{S}.properties[spec].properties[replicas].default",
                                        "Invalid value: 20:  in body should be less than or equal to 10")])

    def test_default_must_be_pruned(self):
        """A default with fields the schema does not know is refused."""
        crd = crontab_crd()
        spec_props(crd)["obj"] = {"type": "object", "properties": {"a": {"type": "string"}},
                                  "default": {"a": "x", "b": "y"}}
        self.assertEqual(causes(crd), [(f"{S}.properties[spec].properties[obj].default",
                                        'Invalid value: map[string]interface {}{"a":"x", "b":"y"}: must not have unknown fields')])

    def test_no_default_in_metadata(self):
        """Defaults inside the top-level metadata are forbidden."""
        crd = crontab_crd()
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] = {
            "type": "object", "properties": {"name": {"type": "string", "default": "x"}}}
        self.assertEqual(causes(crd), [(f"{S}.properties[metadata].properties[name].default",
                                        "Forbidden: must not be set in top-level metadata")])

    def test_list_map_keys_need_default_or_required(self):
        """A list-map key must be required or defaulted (the well-known ports/protocol error)."""
        crd = crontab_crd()
        spec_props(crd)["ports"] = {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
            "items": {"type": "object", "required": ["containerPort"], "properties": {
                "containerPort": {"type": "integer"}, "protocol": {"type": "string"}}}}
        self.assertEqual(causes(crd), [(f"{S}.properties[spec].properties[ports].items.properties[protocol].default",
            "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property")])

    def test_list_type_needs_array(self):
        """x-kubernetes-list-type on a non-array and unknown list types are refused."""
        crd = crontab_crd()
        spec_props(crd)["l"] = {"type": "string", "x-kubernetes-list-type": "bag"}
        self.assertEqual(causes(crd), [
            (f"{S}.properties[spec].properties[l].type",
             'Invalid value: "string": must be array if x-kubernetes-list-type is specified'),
            (f"{S}.properties[spec].properties[l].x-kubernetes-list-type",
             'Unsupported value: "bag": supported values: "atomic", "set", "map"'),
        ])

    def test_unique_items_forbidden(self):
        """uniqueItems: true is refused."""
        crd = crontab_crd()
        spec_props(crd)["l"] = {"type": "array", "uniqueItems": True, "items": {"type": "string"}}
        self.assertEqual(causes(crd), [(f"{S}.properties[spec].properties[l].uniqueItems",
            "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic")])

    def test_invalid_pattern(self):
        """A pattern Go cannot compile is refused."""
        crd = crontab_crd()
        spec_props(crd)["p"] = {"type": "string", "pattern": "a(?=b)"}
        got = causes(crd)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][0], f"{S}.properties[spec].properties[p].pattern")
        self.assertTrue(got[0][1].startswith('Invalid value: "a(?=b)": must be a valid regular expression, but isn\'t: '))

    def test_root_nullable(self):
        """nullable is forbidden at the root, and with status enabled so are most root keywords."""
        crd = crontab_crd()
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["nullable"] = True
        got = causes(crd)
        self.assertEqual([f for f, _ in got], [S, f"{S}.nullable"])
        self.assertIn("fields are allowed at the root of the schema if the status subresource is enabled", got[0][1])
        self.assertEqual(got[1][1], "Forbidden: nullable cannot be true at the root")

    def test_cel_compile_error(self):
        """A rule that does not compile is refused at its x-kubernetes-validations path."""
        crd = crontab_crd()
        spec_props(crd)["replicas"]["x-kubernetes-validations"] = [{"rule": "self >"}]
        got = causes(crd)
        self.assertEqual(got[0][0], f"{S}.properties[spec].properties[replicas].x-kubernetes-validations[0].rule")
        self.assertTrue(got[0][1].startswith(
            'Invalid value: apiextensions.ValidationRule{Rule:"self >", Message:"", MessageExpression:"", '
            'Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: '
            "compilation failed: ERROR: <input>:1:7: Syntax error:"))

    def test_cel_undefined_field(self):
        """A rule selecting a field the schema does not declare is refused, as cel-go's checker does."""
        crd = crontab_crd()
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
            {"rule": "self.replica <= 10"}]
        got = causes(crd)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][0], f"{S}.properties[spec].x-kubernetes-validations[0].rule")
        self.assertTrue(got[0][1].endswith(
            "compilation failed: ERROR: <input>:1:5: undefined field 'replica'\n | self.replica <= 10\n | ....^"))

    def test_cel_rule_fields(self):
        """Rule entries need a rule, a supported reason and a valid fieldPath."""
        crd = crontab_crd()
        spec_props(crd)["image"]["x-kubernetes-validations"] = [
            {"rule": ""}, {"rule": "self != ''", "reason": "Nope"},
            {"rule": "self != ''", "fieldPath": ".nothere"}]
        p = f"{S}.properties[spec].properties[image].x-kubernetes-validations"
        self.assertEqual(causes(crd), [
            (f"{p}[0].rule", "Required value: rule is not specified"),
            (f"{p}[1].reason", 'Unsupported value: "Nope": supported values: "FieldValueDuplicate", '
                               '"FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"'),
            (f"{p}[2].fieldPath", 'Invalid value: ".nothere": fieldPath must be a valid path'),
        ])

    def test_unsupported_rules_accepted(self):
        """A CRD whose rules use libraries or syntax we cannot evaluate is still accepted."""
        crd = crontab_crd()
        spec_props(crd)["image"]["x-kubernetes-validations"] = [
            {"rule": "isURL(self)"}, {"rule": "quantity(self).isGreaterThan(quantity('1'))"}]
        self.assertEqual(validate_crd(crd), [])

    def test_status_reset_on_create(self):
        """A status sent on create is ignored; accepted names are checked on /status writes."""
        from kapi_twisted.apiextensions.validation import validate_crd_status_update

        crd = crontab_crd()
        crd["status"] = {"acceptedNames": {"plural": "Bad_Plural"}, "storedVersions": ["v9"]}
        self.assertEqual(validate_crd(crd), [])
        old = crontab_crd()
        self.assertEqual([c["field"] for c in validate_crd_status_update(crd, old)], ["status.acceptedNames.plural"])

    def test_old_self_in_uncorrelatable_place(self):
        """oldSelf may not be used under the items of a list that is not a list-type map."""
        crd = crontab_crd()
        spec_props(crd)["tags"] = {"type": "array", "items": {
            "type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}
        self.assertEqual(causes(crd), [(f"{S}.properties[spec].properties[tags].items.x-kubernetes-validations[0].rule",
            f'Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema '
            f"within {S}.properties[spec].properties[tags]")])

    def test_subresources(self):
        """Scale paths must be under .spec and .status."""
        crd = crontab_crd()
        crd["spec"]["versions"][0]["subresources"]["scale"] = {
            "specReplicasPath": ".status.replicas", "statusReplicasPath": "status.replicas",
            "labelSelectorPath": ".metadata.labels"}
        self.assertEqual(causes(crd), [
            ("spec.subresources.scale.specReplicasPath", 'Invalid value: ".status.replicas": should be a json path under .spec'),
            ("spec.subresources.scale.statusReplicasPath",
             'Invalid value: "status.replicas": must be a simple json path starting with .'),
            ("spec.subresources.scale.labelSelectorPath",
             'Invalid value: ".metadata.labels": should be a json path under either .spec or .status'),
        ])

    def test_printer_columns(self):
        """Printer columns need a known type and a simple JSON path."""
        crd = crontab_crd()
        crd["spec"]["versions"][0]["additionalPrinterColumns"] = [
            {"name": "R", "type": "int", "jsonPath": "status.replicas"}]
        self.assertEqual(causes(crd), [
            ("spec.additionalPrinterColumns[0].type", 'Invalid value: "int": must be one of boolean,date,integer,number,string'),
            ("spec.additionalPrinterColumns[0].JSONPath", 'Invalid value: "status.replicas": must be a simple json path starting with .'),
        ])

    def test_webhook_conversion(self):
        """A Webhook conversion needs a client config and v1 among its review versions."""
        self.assertEqual(causes(crontab_crd(conversion={"strategy": "Webhook"})), [
            ("spec.conversion.webhookClientConfig", "Required value: required when strategy is set to Webhook"),
            ("spec.conversion.conversionReviewVersions", "Required value"),
        ])
        crd = crontab_crd(conversion={"strategy": "Webhook", "webhook": {
            "clientConfig": {"url": "http://example.com/convert"}, "conversionReviewVersions": ["v2"]}})
        self.assertEqual(causes(crd), [
            ("spec.conversion.webhookClientConfig.url", "Invalid value: \"http\": 'https' is the only allowed URL scheme"),
            ("spec.conversion.conversionReviewVersions", 'Invalid value: []string{"v2"}: must include at least one of v1, v1beta1'),
        ])
        ok = crontab_crd(conversion={"strategy": "Webhook", "webhook": {
            "clientConfig": {"service": {"name": "conv", "namespace": "default", "path": "/convert"}},
            "conversionReviewVersions": ["v1"]}})
        self.assertEqual(validate_crd(ok), [])
        self.assertEqual(ok["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"], 443)

    def test_conversion_strategy(self):
        """Only None and Webhook are conversion strategies."""
        self.assertEqual(causes(crontab_crd(conversion={"strategy": "Magic"})), [
            ("spec.conversion.strategy", 'Unsupported value: "Magic": supported values: "None", "Webhook"')])

    def test_protected_group_needs_approval(self):
        """Groups under k8s.io need the api-approved.kubernetes.io annotation."""
        crd = crontab_crd(group="stable.k8s.io")
        crd["metadata"]["name"] = "crontabs.stable.k8s.io"
        self.assertEqual(causes(crd), [("metadata.annotations[api-approved.kubernetes.io]",
            'Required value: protected groups must have approval annotation "api-approved.kubernetes.io", '
            "see https://github.com/kubernetes/enhancements/pull/1111")])
        crd["metadata"]["annotations"] = {"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/1"}
        self.assertEqual(validate_crd(crd), [])

    def test_selectable_fields(self):
        """Selectable fields must point to scalar fields outside metadata."""
        crd = crontab_crd()
        crd["spec"]["versions"][0]["selectableFields"] = [
            {"jsonPath": ".spec.image"}, {"jsonPath": ".spec"}, {"jsonPath": ".spec.image"}]
        self.assertEqual(causes(crd), [
            ("spec.selectableFields[1].jsonPath", 'Invalid value: ".spec": must point to a field of type string, '
             "boolean or integer. Enum string fields and strings with formats are allowed."),
            ("spec.selectableFields[2].jsonPath", 'Duplicate value: ".spec.image"'),
        ])


class UpdateTests(SynchronousTestCase):
    def established(self) -> dict:
        crd = crontab_crd()
        crd["status"] = {"storedVersions": ["v1"],
                         "conditions": [{"type": "Established", "status": "True"}]}
        return crd

    def test_scope_immutable_once_established(self):
        """scope cannot change once the CRD is established."""
        old = self.established()
        new = copy.deepcopy(old)
        new["spec"]["scope"] = "Cluster"
        self.assertEqual(causes(new, old), [("spec.scope", 'Invalid value: "Cluster": field is immutable')])

    def test_group_immutable(self):
        """group and plural can never change."""
        old = self.established()
        new = copy.deepcopy(old)
        new["spec"]["names"]["plural"] = "crontabz"
        got = causes(new, old)
        self.assertIn(("spec.names.plural", 'Invalid value: "crontabz": field is immutable'), got)

    def test_stored_version_must_remain(self):
        """A version still in status.storedVersions cannot be removed from spec.versions."""
        old = self.established()
        v2 = copy.deepcopy(old["spec"]["versions"][0])
        v2.update(name="v2")
        old["spec"]["versions"][0]["storage"] = False
        old["spec"]["versions"].append(v2)
        old["status"]["storedVersions"] = ["v1", "v2"]
        new = copy.deepcopy(old)
        del new["spec"]["versions"][0]
        self.assertEqual(stored_versions(new, old), ["v1", "v2"])
        self.assertEqual(causes(new, old), [("status.storedVersions[0]",
            'Invalid value: "v1": missing from spec.versions; v1 was previously a storage version, and must remain '
            "in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 "
            "from status.storedVersions")])


#: Gateway API's GatewayClass CRD (v1 only, descriptions shortened): list-map
#: conditions, defaults on status, Go regexps and a transition rule.
GATEWAYCLASS = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    api-approved.kubernetes.io: https://github.com/kubernetes-sigs/gateway-api/pull/4530
  name: gatewayclasses.gateway.networking.k8s.io
spec:
  group: gateway.networking.k8s.io
  names:
    categories:
    - gateway-api
    kind: GatewayClass
    listKind: GatewayClassList
    plural: gatewayclasses
    shortNames:
    - gc
    singular: gatewayclass
  scope: Cluster
  versions:
  - additionalPrinterColumns:
    - jsonPath: .spec.controllerName
      name: Controller
      type: string
    - jsonPath: .status.conditions[?(@.type=="Accepted")].status
      name: Accepted
      type: string
    - jsonPath: .metadata.creationTimestamp
      name: Age
      type: date
    name: v1
    schema:
      openAPIV3Schema:
        description: GatewayClass describes a class of Gateways.
        properties:
          apiVersion:
            type: string
          kind:
            type: string
          metadata:
            type: object
          spec:
            properties:
              controllerName:
                maxLength: 253
                minLength: 1
                pattern: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$
                type: string
                x-kubernetes-validations:
                - message: Value is immutable
                  rule: self == oldSelf
              description:
                maxLength: 64
                type: string
              parametersRef:
                properties:
                  group:
                    maxLength: 253
                    pattern: ^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
                    type: string
                  kind:
                    maxLength: 63
                    minLength: 1
                    pattern: ^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$
                    type: string
                  name:
                    maxLength: 253
                    minLength: 1
                    type: string
                  namespace:
                    maxLength: 63
                    minLength: 1
                    pattern: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
                    type: string
                required:
                - group
                - kind
                - name
                type: object
            required:
            - controllerName
            type: object
          status:
            default:
              conditions:
              - lastTransitionTime: "1970-01-01T00:00:00Z"
                message: Waiting for controller
                reason: Pending
                status: Unknown
                type: Accepted
            properties:
              conditions:
                default:
                - lastTransitionTime: "1970-01-01T00:00:00Z"
                  message: Waiting for controller
                  reason: Pending
                  status: Unknown
                  type: Accepted
                items:
                  properties:
                    lastTransitionTime:
                      format: date-time
                      type: string
                    message:
                      maxLength: 32768
                      type: string
                    observedGeneration:
                      format: int64
                      minimum: 0
                      type: integer
                    reason:
                      maxLength: 1024
                      minLength: 1
                      pattern: ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
                      type: string
                    status:
                      enum:
                      - "True"
                      - "False"
                      - Unknown
                      type: string
                    type:
                      maxLength: 316
                      pattern: ^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$
                      type: string
                  required:
                  - lastTransitionTime
                  - message
                  - reason
                  - status
                  - type
                  type: object
                maxItems: 8
                type: array
                x-kubernetes-list-map-keys:
                - type
                x-kubernetes-list-type: map
            type: object
        required:
        - spec
        type: object
    served: true
    storage: true
    subresources:
      status: {}
"""


class RealWorldTests(SynchronousTestCase):
    def test_gatewayclass(self):
        """Gateway API's GatewayClass CRD is accepted and its objects behave as on a cluster."""
        crd = default_crd(yaml.safe_load(GATEWAYCLASS))
        self.assertEqual(validate_crd(crd), [])
        schema = CompiledSchema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
        gc = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "x"},
              "spec": {"controllerName": "example.net/gateway-controller"}}
        self.assertEqual(schema.prune(gc), [])
        schema.default(gc)
        self.assertEqual(gc["status"]["conditions"][0]["reason"], "Pending")
        self.assertEqual(schema.validate(gc), [])
        moved = copy.deepcopy(gc)
        moved["spec"]["controllerName"] = "example.net/other"
        self.assertEqual(schema.validate(moved, gc), [{
            "reason": "FieldValueInvalid", "field": "spec.controllerName",
            "message": 'Invalid value: "string": Value is immutable'}])
        bad = copy.deepcopy(gc)
        bad["spec"]["controllerName"] = "bad"
        self.assertEqual([c["field"] for c in schema.validate(bad)], ["spec.controllerName"])
