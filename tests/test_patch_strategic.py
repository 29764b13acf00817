"""
Tests for L{kapi_twisted.patch.strategic}, built from the Kubernetes docs'
"Update API Objects in Place Using kubectl patch" examples and the directive
behaviour of k8s.io/apimachinery's strategicpatch.
"""

import copy

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.patch import (
    OpenAPIPatchSchema,
    PatchError,
    PatchFailure,
    PatchFormatError,
    strategic,
)

from .test_patch_schema import DEFINITIONS, deployment_schema


def patch_demo():
    """The Deployment of the kubectl patch task page (after kubectl apply)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 2,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                    "tolerations": [
                        {"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}
                    ],
                },
            },
        },
    }


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def template(spec_patch):
    return {"spec": {"template": {"spec": spec_patch}}}


class SMPTestCase(SynchronousTestCase):
    def apply(self, doc, patch, schema=None):
        """Apply, checking the inputs are left as they were."""
        doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
        result = strategic.apply(
            doc, patch, deployment_schema() if schema is None else schema
        )
        self.assertEqual(doc, doc_before, "the document was modified")
        self.assertEqual(patch, patch_before, "the patch was modified")
        return result


class KubectlPatchDocsTests(SMPTestCase):
    """
    The examples of "Update API Objects in Place Using kubectl patch".
    """

    def test_containers_merged_by_name(self):
        """Patching in a second container keeps the first; the new one comes first."""
        result = self.apply(
            patch_demo(),
            template({"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}),
        )
        self.assertEqual(
            pod_spec(result)["containers"],
            [
                {"name": "patch-demo-ctr-2", "image": "redis"},
                {"name": "patch-demo-ctr", "image": "nginx"},
            ],
        )
        self.assertEqual(result["spec"]["replicas"], 2)
        self.assertEqual(result["metadata"], patch_demo()["metadata"])

    def test_tolerations_replaced(self):
        """Tolerations have no patch strategy, so the patch replaces the list."""
        result = self.apply(
            patch_demo(),
            template(
                {"tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}
            ),
        )
        self.assertEqual(
            pod_spec(result)["tolerations"],
            [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}],
        )
        self.assertEqual(
            pod_spec(result)["containers"], [{"name": "patch-demo-ctr", "image": "nginx"}]
        )

    def test_retain_keys(self):
        """$retainKeys clears rollingUpdate when switching the strategy to Recreate."""
        result = self.apply(
            patch_demo(),
            {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        )
        self.assertEqual(result["spec"]["strategy"], {"type": "Recreate"})

    def test_without_retain_keys(self):
        """Without $retainKeys the strategy map merges and rollingUpdate stays."""
        result = self.apply(patch_demo(), {"spec": {"strategy": {"type": "Recreate"}}})
        self.assertEqual(
            result["spec"]["strategy"],
            {"type": "Recreate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        )

    def test_scale(self):
        """kubectl scale's patch changes replicas only."""
        result = self.apply(patch_demo(), {"spec": {"replicas": 5}})
        expected = patch_demo()
        expected["spec"]["replicas"] = 5
        self.assertEqual(result, expected)


class MapTests(SMPTestCase):
    """
    Objects merge like JSON merge patch, with $patch directives.
    """

    def test_null_deletes(self):
        """A null removes the member (kubectl label x-)."""
        result = self.apply(
            patch_demo(), {"metadata": {"labels": {"app": None, "tier": "web"}}}
        )
        self.assertEqual(result["metadata"]["labels"], {"tier": "web"})

    def test_null_for_missing_member(self):
        """A null for a member that is not there changes nothing and is not stored."""
        result = self.apply(patch_demo(), {"metadata": {"annotations": None, "x": None}})
        self.assertEqual(result, patch_demo())

    def test_nested_nulls_dropped_from_new_values(self):
        """Nulls inside a value for a new member are dropped."""
        result = self.apply(
            patch_demo(), {"metadata": {"annotations": {"a": "1", "b": None}}}
        )
        self.assertEqual(result["metadata"]["annotations"], {"a": "1"})

    def test_patch_replace_map(self):
        """$patch: replace in a map replaces it instead of merging."""
        result = self.apply(
            patch_demo(),
            {"spec": {"template": {"metadata": {"labels": {"$patch": "replace", "x": "y"}}}}},
        )
        self.assertEqual(result["spec"]["template"]["metadata"]["labels"], {"x": "y"})

    def test_patch_delete_map(self):
        """$patch: delete in a map empties it."""
        result = self.apply(
            patch_demo(), {"spec": {"strategy": {"$patch": "delete"}}}
        )
        self.assertEqual(result["spec"]["strategy"], {})

    def test_patch_delete_missing_map(self):
        """$patch: delete for a member that is not there adds nothing."""
        result = self.apply(patch_demo(), {"metadata": {"annotations": {"$patch": "delete"}}})
        self.assertNotIn("annotations", result["metadata"])

    def test_patch_replace_missing_map(self):
        """A $patch: replace map for a member the object lacks is dropped, as in kube."""
        result = self.apply(
            patch_demo(), {"metadata": {"annotations": {"$patch": "replace", "a": "b"}}}
        )
        self.assertNotIn("annotations", result["metadata"])

    def test_top_level_replace(self):
        """$patch: replace at the top replaces the whole object."""
        self.assertEqual(self.apply(patch_demo(), {"$patch": "replace", "kind": "X"}), {"kind": "X"})

    def test_unknown_map_directive(self):
        """An unknown $patch value in a map is refused."""
        self.assertRaises(
            PatchError,
            self.apply,
            patch_demo(),
            {"metadata": {"labels": {"$patch": "merge"}}},
        )

    def test_type_change_replaces(self):
        """A value of another type replaces the old one."""
        result = self.apply({"a": {"b": 1}, "c": [1]}, {"a": "x", "c": {"d": None, "e": 1}})
        self.assertEqual(result, {"a": "x", "c": {"e": 1}})

    def test_retain_keys_must_list_patched_fields(self):
        """A patch field missing from $retainKeys is a 400."""
        e = self.assertRaises(
            PatchFormatError,
            self.apply,
            patch_demo(),
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
        )
        self.assertEqual(e.code, 400)
        self.assertEqual(e.message, "invalid patch format of retainKeys")
        self.assertRaises(
            PatchFormatError,
            self.apply,
            patch_demo(),
            {"spec": {"strategy": {"$retainKeys": "type"}}},
        )

    def test_no_schema(self):
        """Without a schema maps still merge and lists are replaced."""
        result = strategic.apply(
            patch_demo(),
            template({"containers": [{"name": "other", "image": "redis"}]}),
            None,
        )
        self.assertEqual(pod_spec(result)["containers"], [{"name": "other", "image": "redis"}])
        self.assertEqual(pod_spec(result)["tolerations"], pod_spec(patch_demo())["tolerations"])

    def test_not_an_object(self):
        """A patch that is not a JSON object is a 400; null changes nothing."""
        for patch in ([], "x", 1):
            e = self.assertRaises(PatchFormatError, strategic.apply, {}, patch, None)
            self.assertIsInstance(e, PatchFailure)
        self.assertEqual(strategic.apply({"a": 1}, None, None), {"a": 1})


class MergeListTests(SMPTestCase):
    """
    Lists merged by key or as sets, and the list directives.
    """

    def deployment(self, containers):
        obj = patch_demo()
        pod_spec(obj)["containers"] = containers
        return obj

    def test_merge_into_existing_element(self):
        """A patch element merges into the element with the same name."""
        obj = self.deployment(
            [
                {"name": "a", "image": "a:1", "args": ["x"]},
                {"name": "b", "image": "b:1"},
            ]
        )
        result = self.apply(obj, template({"containers": [{"name": "b", "image": "b:2"}]}))
        self.assertEqual(
            pod_spec(result)["containers"],
            [{"name": "a", "image": "a:1", "args": ["x"]}, {"name": "b", "image": "b:2"}],
        )

    def test_args_replaced(self):
        """args has no strategy: the patch's list replaces the container's."""
        obj = self.deployment([{"name": "a", "image": "a:1", "args": ["x", "y"]}])
        result = self.apply(
            obj, template({"containers": [{"name": "a", "args": ["z"]}]})
        )
        self.assertEqual(pod_spec(result)["containers"], [{"name": "a", "image": "a:1", "args": ["z"]}])

    def test_patch_delete_element(self):
        """{"name": X, "$patch": "delete"} removes container X."""
        obj = self.deployment([{"name": "a"}, {"name": "b"}, {"name": "c"}])
        result = self.apply(
            obj, template({"containers": [{"name": "b", "$patch": "delete"}]})
        )
        self.assertEqual(pod_spec(result)["containers"], [{"name": "a"}, {"name": "c"}])

    def test_patch_delete_all_duplicates(self):
        """A delete element removes every element with that key."""
        obj = self.deployment([{"name": "a"}, {"name": "a"}, {"name": "b", "image": "x"}])
        result = self.apply(obj, template({"containers": [{"name": "a", "$patch": "delete"}]}))
        self.assertEqual(pod_spec(result)["containers"], [{"name": "b", "image": "x"}])

    def test_patch_delete_element_needs_merge_key(self):
        """A delete element without the merge key is refused."""
        obj = self.deployment([{"name": "a"}])
        self.assertRaises(
            PatchError, self.apply, obj, template({"containers": [{"$patch": "delete"}]})
        )

    def test_patch_replace_list(self):
        """A {"$patch": "replace"} element replaces the whole list."""
        obj = self.deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])
        result = self.apply(
            obj,
            template(
                {"containers": [{"name": "c", "image": "c"}, {"$patch": "replace"}]}
            ),
        )
        self.assertEqual(pod_spec(result)["containers"], [{"name": "c", "image": "c"}])

    def test_patch_merge_list_refused(self):
        """A {"$patch": "merge"} list element is refused, as in kube."""
        obj = self.deployment([{"name": "a"}])
        e = self.assertRaises(
            PatchError, self.apply, obj, template({"containers": [{"$patch": "merge"}]})
        )
        self.assertEqual(e.message, "merging lists cannot yet be specified in the patch")

    def test_missing_merge_key(self):
        """A merge-list element without its merge key is a 422."""
        obj = self.deployment([{"name": "a"}])
        e = self.assertRaises(
            PatchError, self.apply, obj, template({"containers": [{"image": "x"}]})
        )
        self.assertEqual(e.code, 422)
        self.assertIn("does not contain declared merge key: name", e.message)

    def test_integer_merge_keys(self):
        """Container ports merge by containerPort (a number)."""
        obj = self.deployment(
            [{"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 443}]}]
        )
        result = self.apply(
            obj,
            template(
                {
                    "containers": [
                        {
                            "name": "a",
                            "ports": [
                                {"containerPort": 443, "protocol": "TCP"},
                                {"containerPort": 8080},
                            ],
                        }
                    ]
                }
            ),
        )
        self.assertEqual(
            pod_spec(result)["containers"][0]["ports"],
            [
                {"containerPort": 80},
                {"containerPort": 443, "protocol": "TCP"},
                {"containerPort": 8080},
            ],
        )

    def test_volume_mounts_by_mount_path(self):
        """volumeMounts merge by mountPath."""
        obj = self.deployment(
            [{"name": "a", "volumeMounts": [{"name": "v", "mountPath": "/data"}]}]
        )
        result = self.apply(
            obj,
            template(
                {
                    "containers": [
                        {
                            "name": "a",
                            "volumeMounts": [
                                {"name": "w", "mountPath": "/data"},
                                {"name": "x", "mountPath": "/x"},
                            ],
                        }
                    ]
                }
            ),
        )
        self.assertEqual(
            pod_spec(result)["containers"][0]["volumeMounts"],
            [{"name": "w", "mountPath": "/data"}, {"name": "x", "mountPath": "/x"}],
        )

    def test_volumes_retain_keys(self):
        """A volume element's $retainKeys drops its old source (merge,retainKeys)."""
        obj = patch_demo()
        pod_spec(obj)["volumes"] = [
            {"name": "v", "emptyDir": {}},
            {"name": "w", "configMap": {"name": "c"}},
        ]
        result = self.apply(
            obj,
            template(
                {
                    "volumes": [
                        {
                            "$retainKeys": ["hostPath", "name"],
                            "name": "v",
                            "hostPath": {"path": "/x"},
                        }
                    ]
                }
            ),
        )
        self.assertEqual(
            pod_spec(result)["volumes"],
            [{"name": "v", "hostPath": {"path": "/x"}}, {"name": "w", "configMap": {"name": "c"}}],
        )

    def test_owner_references_by_uid(self):
        """ownerReferences merge by uid."""
        obj = {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}}
        result = self.apply(
            obj, {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]}}
        )
        self.assertEqual(
            result["metadata"]["ownerReferences"],
            [{"uid": "2", "name": "b"}, {"uid": "1", "name": "a"}],
        )

    def test_service_ports_by_port(self):
        """Service ports merge by port."""
        schema = OpenAPIPatchSchema.for_kind(DEFINITIONS, "", "v1", "Service")
        obj = {"spec": {"ports": [{"port": 80, "name": "http"}]}}
        result = self.apply(
            obj, {"spec": {"ports": [{"port": 80, "name": "web"}]}}, schema
        )
        self.assertEqual(result["spec"]["ports"], [{"port": 80, "name": "web"}])

    def test_new_list_directives_stripped(self):
        """A list new to the object keeps no directive or deleted element."""
        result = self.apply(
            patch_demo(),
            template(
                {
                    "initContainers": [
                        {"name": "gone", "$patch": "delete"},
                        {"name": "init", "env": [{"name": "A", "value": None}]},
                    ]
                }
            ),
        )
        self.assertEqual(
            pod_spec(result)["initContainers"], [{"name": "init", "env": [{"name": "A"}]}]
        )


class PrimitiveListTests(SMPTestCase):
    """
    Primitive lists with strategy merge behave as sets; finalizers are the
    everyday case.
    """

    def obj(self, finalizers):
        return {"metadata": {"name": "a", "finalizers": finalizers}}

    def test_merge_as_set(self):
        """New finalizers are added once; the new one comes first."""
        result = self.apply(self.obj(["a", "b"]), {"metadata": {"finalizers": ["c", "a"]}})
        self.assertEqual(result["metadata"]["finalizers"], ["c", "a", "b"])

    def test_delete_from_primitive_list(self):
        """$deleteFromPrimitiveList/finalizers removes the listed values."""
        result = self.apply(
            self.obj(["a", "b", "c"]),
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "c"]}},
        )
        self.assertEqual(result["metadata"]["finalizers"], ["a"])

    def test_delete_from_missing_list(self):
        """Deleting from a list that is not there changes nothing."""
        result = self.apply(
            {"metadata": {"name": "a"}},
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        )
        self.assertEqual(result, {"metadata": {"name": "a"}})

    def test_delete_from_list_without_strategy(self):
        """$deleteFromPrimitiveList deletes even from a list that is replaced by default."""
        obj = patch_demo()
        pod_spec(obj)["containers"][0]["args"] = ["x", "y", "z"]
        result = self.apply(
            obj,
            template(
                {
                    "containers": [
                        {"name": "patch-demo-ctr", "$deleteFromPrimitiveList/args": ["y"]}
                    ]
                }
            ),
        )
        self.assertEqual(pod_spec(result)["containers"][0]["args"], ["x", "z"])

    def test_bad_directive_format(self):
        """A malformed $deleteFromPrimitiveList key is a 400."""
        self.assertRaises(
            PatchFormatError,
            self.apply,
            self.obj(["a"]),
            {"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}},
        )

    def test_mixed_types_refused(self):
        """A merged primitive list must hold one JSON type (true is not 1)."""
        schema = OpenAPIPatchSchema(
            {},
            {"properties": {"l": {"type": "array", "x-kubernetes-patch-strategy": "merge"}}},
        )
        self.assertRaises(PatchError, strategic.apply, {"l": [1]}, {"l": [True]}, schema)
        result = strategic.apply({"l": [1, 2]}, {"l": [2.0, 3]}, schema)
        self.assertEqual(result["l"], [1, 2, 3])

    def test_list_of_lists_refused(self):
        """Lists of lists cannot be merged."""
        schema = OpenAPIPatchSchema(
            {},
            {"properties": {"l": {"type": "array", "x-kubernetes-patch-strategy": "merge"}}},
        )
        self.assertRaises(PatchError, strategic.apply, {"l": [[1]]}, {"l": [[2]]}, schema)


class SetElementOrderTests(SMPTestCase):
    """
    $setElementOrder gives the order of the merged list.
    """

    def test_reorder_map_list(self):
        """Containers end up in $setElementOrder's order, with the patch merged."""
        obj = patch_demo()
        pod_spec(obj)["containers"] = [
            {"name": "a", "image": "a:1"},
            {"name": "b", "image": "b:1"},
            {"name": "c", "image": "c:1"},
        ]
        result = self.apply(
            obj,
            template(
                {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                    "containers": [{"name": "a", "image": "a:2"}],
                }
            ),
        )
        self.assertEqual(
            pod_spec(result)["containers"],
            [{"name": "c", "image": "c:1"}, {"name": "a", "image": "a:2"}, {"name": "b", "image": "b:1"}],
        )

    def test_order_without_list_in_patch(self):
        """An order alone reorders the existing list."""
        obj = {"metadata": {"finalizers": ["a", "b", "c"]}}
        result = self.apply(obj, {"metadata": {"$setElementOrder/finalizers": ["c", "b", "a"]}})
        self.assertEqual(result["metadata"]["finalizers"], ["c", "b", "a"])

    def test_primitive_list(self):
        """A finalizer added with an order lands where the order says."""
        obj = {"metadata": {"finalizers": ["a", "b", "c"]}}
        result = self.apply(
            obj,
            {
                "metadata": {
                    "$setElementOrder/finalizers": ["c", "d", "b", "a"],
                    "finalizers": ["d"],
                }
            },
        )
        self.assertEqual(result["metadata"]["finalizers"], ["c", "d", "b", "a"])

    def test_primitive_list_with_deletion(self):
        """kubectl's order plus deletion list for finalizers."""
        obj = {"metadata": {"finalizers": ["a", "b", "c"]}}
        result = self.apply(
            obj,
            {
                "metadata": {
                    "$setElementOrder/finalizers": ["c", "a"],
                    "$deleteFromPrimitiveList/finalizers": ["b"],
                }
            },
        )
        self.assertEqual(result["metadata"]["finalizers"], ["c", "a"])

    def test_server_only_items_keep_their_place(self):
        """An item the order does not name goes before the named items it preceded."""
        obj = {"metadata": {"finalizers": ["a", "x", "b"]}}
        result = self.apply(
            obj, {"metadata": {"$setElementOrder/finalizers": ["b", "a"], "finalizers": []}}
        )
        self.assertEqual(result["metadata"]["finalizers"], ["x", "b", "a"])
        result = self.apply(obj, {"metadata": {"$setElementOrder/finalizers": ["a", "b"]}})
        self.assertEqual(result["metadata"]["finalizers"], ["a", "x", "b"])

    def test_new_list_with_order(self):
        """A new list follows its order, directives dropped."""
        result = self.apply(
            {"metadata": {}},
            {
                "metadata": {
                    "$setElementOrder/ownerReferences": [{"uid": "2"}, {"uid": "1"}],
                    "ownerReferences": [
                        {"uid": "2"},
                        {"uid": "9", "$patch": "delete"},
                        {"uid": "1"},
                    ],
                }
            },
        )
        self.assertEqual(result["metadata"]["ownerReferences"], [{"uid": "2"}, {"uid": "1"}])

    def test_order_mismatch(self):
        """A patch list whose order disagrees with $setElementOrder is refused."""
        obj = patch_demo()
        pod_spec(obj)["containers"] = [{"name": "a"}, {"name": "b"}]
        self.assertRaises(
            PatchError,
            self.apply,
            obj,
            template(
                {
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                    "containers": [{"name": "b", "image": "x"}, {"name": "a", "image": "y"}],
                }
            ),
        )

    def test_bad_order_key(self):
        """A malformed $setElementOrder key is a 400."""
        self.assertRaises(
            PatchFormatError,
            self.apply,
            {"metadata": {"finalizers": ["a"]}},
            {"metadata": {"$setElementOrderfinalizers": ["a"]}},
        )


class ClientSideApplyTests(SMPTestCase):
    """
    What kubectl apply (client-side) sends when a file changes.
    """

    def live(self):
        obj = patch_demo()
        pod_spec(obj)["containers"] = [
            {
                "name": "web",
                "image": "nginx:1.25",
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "value": "2"},
                    {"name": "C", "value": "3"},
                ],
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
            },
            {"name": "sidecar", "image": "busybox:1.36", "args": ["sleep", "infinity"]},
        ]
        return obj

    def test_remove_env_and_change_image(self):
        """One env var removed and one image changed; the other container is untouched."""
        patch = {
            "metadata": {
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{...}\n"
                }
            },
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                        "containers": [
                            {
                                "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                                "env": [{"$patch": "delete", "name": "B"}],
                                "image": "nginx:1.26",
                                "name": "web",
                            }
                        ],
                    }
                }
            },
        }
        result = self.apply(self.live(), patch)
        self.assertEqual(
            pod_spec(result)["containers"],
            [
                {
                    "name": "web",
                    "image": "nginx:1.26",
                    "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}],
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                },
                {"name": "sidecar", "image": "busybox:1.36", "args": ["sleep", "infinity"]},
            ],
        )
        self.assertEqual(
            result["metadata"]["annotations"],
            {"kubectl.kubernetes.io/last-applied-configuration": "{...}\n"},
        )
        self.assertEqual(pod_spec(result)["tolerations"], pod_spec(self.live())["tolerations"])

    def test_add_env_in_the_middle(self):
        """A new env var goes where the file puts it, not first."""
        patch = template(
            {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                "containers": [
                    {
                        "$setElementOrder/env": [
                            {"name": "A"},
                            {"name": "N"},
                            {"name": "B"},
                            {"name": "C"},
                        ],
                        "env": [{"name": "N", "value": "new"}],
                        "name": "web",
                    }
                ],
            }
        )
        result = self.apply(self.live(), patch)
        self.assertEqual(
            [e["name"] for e in pod_spec(result)["containers"][0]["env"]],
            ["A", "N", "B", "C"],
        )
        self.assertEqual([c["name"] for c in pod_spec(result)["containers"]], ["web", "sidecar"])

    def test_remove_container(self):
        """Removing a container from the file deletes it and keeps the other."""
        patch = template(
            {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{"$patch": "delete", "name": "sidecar"}],
            }
        )
        result = self.apply(self.live(), patch)
        self.assertEqual(pod_spec(result)["containers"], pod_spec(self.live())["containers"][:1])

    def test_result_not_aliased(self):
        """Changing the result leaves the stored object and the patch alone."""
        live = self.live()
        patch = template({"containers": [{"name": "new", "env": [{"name": "X"}]}]})
        result = strategic.apply(live, patch, deployment_schema())
        for container in pod_spec(result)["containers"]:
            container.setdefault("env", []).append({"name": "Z"})
        self.assertEqual(live, self.live())
        self.assertEqual(
            patch, template({"containers": [{"name": "new", "env": [{"name": "X"}]}]})
        )


class LargeDocumentTests(SMPTestCase):
    """
    Patching is not slowed down by the size of untouched parts.
    """

    def test_many_elements(self):
        """A patch to one of 5,000 env vars merges the right one."""
        obj = patch_demo()
        pod_spec(obj)["containers"][0]["env"] = [
            {"name": f"V{i}", "value": str(i)} for i in range(5000)
        ]
        patch = template(
            {
                "containers": [
                    {
                        "name": "patch-demo-ctr",
                        "env": [{"name": "V4999", "value": "x"}, {"name": "V0", "$patch": "delete"}],
                    }
                ]
            }
        )
        result = self.apply(obj, patch)
        env = pod_spec(result)["containers"][0]["env"]
        self.assertEqual(len(env), 4999)
        self.assertEqual(env[0], {"name": "V1", "value": "1"})
        self.assertEqual(env[-1], {"name": "V4999", "value": "x"})
