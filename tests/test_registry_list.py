"""LIST through the generic store: selectors, limit/continue, resourceVersion semantics."""

import base64
import json

from kapi_twisted.registry.interface import ListOptions, WriteOptions

from ._registry_helpers import RegistryTestCase


def names(page):
    return [kv.object["metadata"]["name"] for kv in page.items]


class ListTests(RegistryTestCase):
    def list(self, namespace="default", plural="configmaps", **options):
        return self.store(plural).list(self.ctx, namespace, ListOptions(**options))

    def test_list_namespace_and_all(self):
        """A namespace's list holds its objects; "" lists every namespace, in key order."""
        self.cm("b")
        self.cm("a", namespace="other")
        self.cm("a")
        self.assertEqual(names(self.ok(self.list())), ["a", "b"])
        page = self.ok(self.list(namespace=""))
        self.assertEqual([kv.key for kv in page.items], [
            "/registry/configmaps/default/a", "/registry/configmaps/default/b",
            "/registry/configmaps/other/a"])
        self.assertEqual(page.resource_version, str(self.ok(self.storage.current_revision())))
        self.assertEqual(page.continue_token, "")

    def test_items_are_stored_key_values(self):
        """Items are key-values whose bytes the handler can write as they are."""
        created = self.cm("a").kv
        page = self.ok(self.list())
        self.assertEqual(page.items[0].data, created.data)

    def test_label_and_field_selectors(self):
        """Selectors filter the items."""
        self.cm("a", labels={"app": "web"})
        self.cm("b", labels={"app": "db"})
        self.cm("c")
        self.assertEqual(names(self.ok(self.list(label_selector="app=web"))), ["a"])
        self.assertEqual(names(self.ok(self.list(label_selector="app!=web"))), ["b", "c"])
        self.assertEqual(names(self.ok(self.list(field_selector="metadata.name!=b"))), ["a", "c"])
        err = self.error(self.list(field_selector="data.k=v"))
        self.assertEqual(err.code, 400)
        err = self.error(self.list(label_selector="a b"))
        self.assertEqual(err.code, 400)

    def test_pagination_token_format(self):
        """limit gives pages with kube's continue token and remainingItemCount."""
        for n in "abcde":
            self.cm(n)
        page = self.ok(self.list(limit=2))
        self.assertEqual(names(page), ["a", "b"])
        self.assertEqual(page.remaining_item_count, 3)
        token = json.loads(base64.urlsafe_b64decode(page.continue_token + "=="))
        self.assertEqual(token, {"v": "meta.k8s.io/v1", "rv": int(page.resource_version),
                                 "start": "b\x00"})
        page2 = self.ok(self.list(limit=2, continue_token=page.continue_token))
        self.assertEqual(names(page2), ["c", "d"])
        page3 = self.ok(self.list(limit=2, continue_token=page2.continue_token))
        self.assertEqual(names(page3), ["e"])
        self.assertEqual(page3.continue_token, "")
        self.assertIsNone(page3.remaining_item_count)

    def test_pages_come_from_one_snapshot(self):
        """Writes between pages do not show in later pages of the same list."""
        for n in "abcd":
            self.cm(n)
        page = self.ok(self.list(limit=2))
        self.cm("bb")
        self.ok(self.store("configmaps").delete(self.ctx, "default", "d", None))
        page2 = self.ok(self.list(limit=5, continue_token=page.continue_token))
        self.assertEqual(names(page2), ["c", "d"])
        self.assertEqual(page2.resource_version, page.resource_version)

    def test_selector_pages_fill_up(self):
        """With a selector a page holds up to limit matches, and no remainingItemCount."""
        for i in range(6):
            self.cm(f"o{i}", labels={"even": str(i % 2 == 0).lower()})
        page = self.ok(self.list(limit=2, label_selector="even=true"))
        self.assertEqual(names(page), ["o0", "o2"])
        self.assertIsNone(page.remaining_item_count)
        page2 = self.ok(self.list(limit=2, label_selector="even=true",
                                  continue_token=page.continue_token))
        self.assertEqual(names(page2), ["o4"])

    def test_expired_continue_is_410(self):
        """A continue token whose revision was compacted is 410 Expired with a fresh token."""
        for n in "abc":
            self.cm(n)
        page = self.ok(self.list(limit=1))
        self.cm("d")
        self.ok(self.storage.compact(self.ok(self.storage.current_revision())))
        err = self.error(self.list(limit=1, continue_token=page.continue_token))
        self.assertEqual((err.code, err.reason), (410, "Expired"))
        self.assertTrue(err.message.startswith(
            "The provided continue parameter is too old to display a consistent list result."))
        fresh = err.status()["metadata"]["continue"]
        rest = self.ok(self.list(continue_token=fresh))
        self.assertEqual(names(rest), ["b", "c", "d"])

    def test_bad_continue_token_is_400(self):
        """A token that is not ours is 400."""
        err = self.error(self.list(continue_token="!!!"))
        self.assertEqual(err.code, 400)
        self.assertTrue(err.message.startswith("invalid continue token: continue key is not valid"))

    def test_continue_with_resource_version_is_400(self):
        """A continue request may not name a resourceVersion other than 0."""
        for n in "ab":
            self.cm(n)
        page = self.ok(self.list(limit=1))
        err = self.error(self.list(continue_token=page.continue_token, resource_version="5"))
        self.assertEqual((err.code, err.message), (
            400, "specifying resource version is not allowed when using continue"))
        self.ok(self.list(continue_token=page.continue_token, resource_version="0"))

    def test_resource_version_exact(self):
        """resourceVersionMatch=Exact lists the state at that revision."""
        first = self.cm("a").kv
        self.cm("b")
        page = self.ok(self.list(resource_version=str(first.mod_revision),
                                 resource_version_match="Exact"))
        self.assertEqual(names(page), ["a"])
        self.assertEqual(page.resource_version, str(first.mod_revision))
        # limit with a resourceVersion and no match is exact too (legacy rule).
        page = self.ok(self.list(resource_version=str(first.mod_revision), limit=10))
        self.assertEqual(names(page), ["a"])

    def test_resource_version_not_older_than(self):
        """resourceVersion=N without a match means the newest state."""
        first = self.cm("a").kv
        self.cm("b")
        page = self.ok(self.list(resource_version=str(first.mod_revision)))
        self.assertEqual(names(page), ["a", "b"])
        page = self.ok(self.list(resource_version="0"))
        self.assertEqual(names(page), ["a", "b"])

    def test_too_old_resource_version_is_410(self):
        """An exact list at a compacted revision is 410 Expired."""
        first = self.cm("a").kv
        self.cm("b")
        self.ok(self.storage.compact(self.ok(self.storage.current_revision())))
        err = self.error(self.list(resource_version=str(first.mod_revision),
                                   resource_version_match="Exact"))
        self.assertEqual((err.code, err.reason, err.message),
                         (410, "Expired", "The resourceVersion for the provided list is too old."))

    def test_too_new_resource_version_is_504(self):
        """A resourceVersion ahead of the store is 504 with a ResourceVersionTooLarge cause."""
        self.cm("a")
        d = self.list(resource_version="1000")
        self.clock.advance(5)
        err = self.error(d)
        self.assertEqual((err.code, err.reason), (504, "Timeout"))
        self.assertTrue(err.message.startswith("Timeout: Too large resource version: 1000"))
        self.assertEqual(err.details["causes"][0]["reason"], "ResourceVersionTooLarge")

    def test_list_options_validation(self):
        """Forbidden resourceVersionMatch combinations are 422 on meta.k8s.io ListOptions."""
        err = self.error(self.list(resource_version_match="Exact"))
        self.assertEqual((err.code, err.message), (422, (
            'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
            "resourceVersionMatch is forbidden unless resourceVersion is provided")))
        self.assertEqual(err.details["group"], "meta.k8s.io")
        self.assertEqual(err.details["kind"], "ListOptions")
        err = self.error(self.list(resource_version="0", resource_version_match="Exact"))
        self.assertIn('resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                      err.message)
        err = self.error(self.list(resource_version="1", resource_version_match="Soon"))
        self.assertIn('resourceVersionMatch: Unsupported value: "Soon": supported values: '
                      '"Exact", "NotOlderThan", ""', err.message)
        err = self.error(self.list(send_initial_events=True))
        self.assertIn("sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list",
                      err.message)

    def test_dry_run_and_field_manager_do_not_matter_for_lists(self):
        """A list after a dry-run create shows nothing new."""
        self.create("configmaps", "default", {"metadata": {"name": "a"}}, dry_run=True)
        self.assertEqual(names(self.ok(self.list())), [])

    def test_pagination_across_writes_sees_every_survivor(self):
        """Paging with writes in between returns each object of the snapshot exactly once."""
        for i in range(10):
            self.cm(f"o{i:02d}")
        seen = []
        token = ""
        i = 10
        while True:
            page = self.ok(self.list(limit=3, continue_token=token))
            seen.extend(names(page))
            self.create("configmaps", "default", {"metadata": {"name": f"o{i:02d}"}},
                        **{})
            i += 1
            token = page.continue_token
            if not token:
                break
        self.assertEqual(seen, [f"o{i:02d}" for i in range(10)])


class WriteOptionsTests(RegistryTestCase):
    def test_dry_run_values_for_handlers(self):
        """The handlers' helper refuses dryRun values other than All with 422."""
        from kapi_twisted.registry._options import dry_run_error
        self.assertIsNone(dry_run_error(["All"], "CreateOptions"))
        err = dry_run_error(["Some"], "CreateOptions")
        self.assertEqual((err.code, err.message), (422, (
            'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Some"]: '
            'supported values: "All"')))
        self.assertIsInstance(WriteOptions(), WriteOptions)


class NarrowedListTests(RegistryTestCase):
    def test_name_selector_reads_one_key(self):
        """A metadata.name selector lists just that object, not its name-prefixed siblings."""
        self.cm("a")
        self.cm("ab")
        self.cm("a", namespace="other")
        store = self.store("configmaps")
        from kapi_twisted.registry.store import Predicate
        predicate = Predicate(store.info, "", "metadata.name=a")
        self.assertEqual(store.scan_prefix("default", predicate),
                         "/registry/configmaps/default/a")
        page = self.ok(store.list(self.ctx, "default", ListOptions(field_selector="metadata.name=a")))
        self.assertEqual(names(page), ["a"])
        page = self.ok(store.list(self.ctx, "", ListOptions(
            field_selector="metadata.namespace=other,metadata.name=a")))
        self.assertEqual([kv.key for kv in page.items], ["/registry/configmaps/other/a"])
        page = self.ok(store.list(self.ctx, "", ListOptions(field_selector="metadata.name=a")))
        self.assertEqual(len(page.items), 2)

    def test_name_selector_watch(self):
        """A watch by name ignores objects whose names merely start with it."""
        self.cm("a")
        events = []
        self.ok(self.store("configmaps").watch(self.ctx, "default", ListOptions(
            field_selector="metadata.name=a"), events.append))
        self.clock.advance(0)
        self.cm("ab")
        self.ok(self.store("configmaps").update(self.ctx, "default", "a", {"metadata": {
            "name": "a", "labels": {"x": "y"}}}, WriteOptions()))
        self.assertEqual([(e.type, e.as_object()["metadata"]["name"]) for e in events],
                         [("ADDED", "a"), ("MODIFIED", "a")])
