"""WATCH through the generic store: resume points, selector transitions, bookmarks, errors."""

from kapi_twisted.registry.interface import DeleteOptions, ListOptions, WriteOptions

from ._registry_helpers import RegistryTestCase


def summary(events):
    out = []
    for e in events:
        obj = e.as_object()
        if e.type in ("BOOKMARK", "ERROR"):
            out.append((e.type, obj.get("metadata", {}).get("resourceVersion")))
        else:
            out.append((e.type, obj["metadata"]["name"]))
    return out


class WatchTests(RegistryTestCase):
    def watch(self, namespace="default", plural="configmaps", **options):
        events = []
        d = self.store(plural).watch(self.ctx, namespace, ListOptions(**options), events.append)
        return d, events

    def update_labels(self, name, labels):
        return self.ok(self.store("configmaps").update(
            self.ctx, "default", name, {"metadata": {"name": name, "labels": labels}},
            WriteOptions()))

    def test_initial_state_then_changes(self):
        """Without a resourceVersion: ADDED for what exists, then changes, in order."""
        self.cm("a")
        self.cm("b")
        d, events = self.watch()
        w = self.ok(d)
        self.assertEqual(events, [], "nothing is sent before the caller holds the watch")
        self.clock.advance(0)
        self.cm("c")
        self.update_labels("a", {"x": "y"})
        self.ok(self.store("configmaps").delete(self.ctx, "default", "b", DeleteOptions()))
        self.clock.advance(0)
        self.assertEqual(summary(events), [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"),
                                           ("MODIFIED", "a"), ("DELETED", "b")])
        revisions = [int(e.as_object()["metadata"]["resourceVersion"]) for e in events[2:]]
        self.assertEqual(revisions, sorted(revisions))
        w.stop()
        self.assertIsNone(self.successResultOf(w.done))

    def test_watch_from_list_revision_misses_nothing(self):
        """A watch from a list's resourceVersion gets exactly the writes made after the list."""
        self.cm("a")
        page = self.ok(self.store("configmaps").list(self.ctx, "default", ListOptions()))
        self.cm("b")
        self.update_labels("a", {"v": "1"})
        d, events = self.watch(resource_version=page.resource_version)
        self.ok(d)
        self.cm("c")
        self.clock.advance(0)
        self.cm("d")
        self.assertEqual(summary(events), [("ADDED", "b"), ("MODIFIED", "a"), ("ADDED", "c"),
                                           ("ADDED", "d")])

    def test_resource_version_zero_sends_state(self):
        """resourceVersion=0 starts with the current state like an unset one."""
        self.cm("a")
        d, events = self.watch(resource_version="0")
        self.ok(d)
        self.clock.advance(0)
        self.assertEqual(summary(events), [("ADDED", "a")])

    def test_namespace_scope(self):
        """A namespaced watch sees only that namespace; "" sees all."""
        d, events = self.watch(resource_version=str(self.ok(self.storage.current_revision())))
        d2, all_events = self.watch(namespace="",
                                    resource_version=str(self.ok(self.storage.current_revision())))
        self.clock.advance(0)
        self.cm("a", namespace="other")
        self.cm("b")
        self.assertEqual(summary(events), [("ADDED", "b")])
        self.assertEqual(summary(all_events), [("ADDED", "a"), ("ADDED", "b")])

    def test_selector_transitions(self):
        """An object that starts matching arrives as ADDED; one that stops, as DELETED."""
        self.cm("a", labels={"app": "web"})
        rv = self.ok(self.storage.current_revision())
        d, events = self.watch(label_selector="app=web", resource_version=str(rv))
        self.ok(d)
        self.clock.advance(0)
        self.cm("b", labels={"app": "db"})
        moved = self.update_labels("a", {"app": "db"})
        self.update_labels("b", {"app": "web"})
        self.update_labels("b", {"app": "web", "x": "1"})
        self.update_labels("a", {"app": "other"})
        self.assertEqual(summary(events), [("DELETED", "a"), ("ADDED", "b"), ("MODIFIED", "b")])
        gone = events[0].as_object()
        self.assertEqual(gone["metadata"]["labels"], {"app": "web"})
        self.assertEqual(gone["metadata"]["resourceVersion"], str(moved.kv.mod_revision))

    def test_field_selector_watch_by_name(self):
        """A watch by metadata.name sees only that object, down to its deletion."""
        self.cm("a")
        self.cm("b")
        d, events = self.watch(field_selector="metadata.name=a")
        self.ok(d)
        self.clock.advance(0)
        self.update_labels("b", {"x": "1"})
        self.ok(self.store("configmaps").delete(self.ctx, "default", "a", DeleteOptions()))
        self.assertEqual(summary(events), [("ADDED", "a"), ("DELETED", "a")])

    def test_periodic_bookmarks(self):
        """With allowWatchBookmarks a BOOKMARK carrying only the revision comes every minute."""
        self.cm("a")
        d, events = self.watch(allow_watch_bookmarks=True)
        self.ok(d)
        d2, quiet = self.watch()
        self.ok(d2)
        self.clock.advance(0)
        self.cm("b", namespace="other")
        self.clock.advance(60)
        rev = str(self.ok(self.storage.current_revision()))
        self.assertEqual(summary(events), [("ADDED", "a"), ("BOOKMARK", rev)])
        bookmark = events[-1].as_object()
        self.assertEqual(bookmark, {"kind": "ConfigMap", "apiVersion": "v1",
                                    "metadata": {"resourceVersion": rev,
                                                 "creationTimestamp": None}})
        self.assertEqual(summary(quiet), [("ADDED", "a")])

    def test_send_initial_events(self):
        """sendInitialEvents ends the initial ADDED events with an annotated BOOKMARK."""
        self.cm("a")
        rev = str(self.ok(self.storage.current_revision()))
        d, events = self.watch(send_initial_events=True, resource_version_match="NotOlderThan",
                               allow_watch_bookmarks=True)
        self.ok(d)
        self.clock.advance(0)
        self.cm("b")
        self.assertEqual(summary(events), [("ADDED", "a"), ("BOOKMARK", rev), ("ADDED", "b")])
        annotations = events[1].as_object()["metadata"]["annotations"]
        self.assertEqual(annotations["k8s.io/initial-events-end"], "true")

    def test_send_initial_events_false_from_revision(self):
        """sendInitialEvents=false with a resourceVersion sends only later changes."""
        self.cm("a")
        rev = str(self.ok(self.storage.current_revision()))
        d, events = self.watch(send_initial_events=False, resource_version_match="NotOlderThan",
                               resource_version=rev)
        self.ok(d)
        self.clock.advance(0)
        self.cm("b")
        self.assertEqual(summary(events), [("ADDED", "b")])

    def test_watch_option_validation(self):
        """sendInitialEvents needs resourceVersionMatch=NotOlderThan and vice versa (422)."""
        d, _ = self.watch(send_initial_events=True)
        err = self.error(d)
        self.assertEqual((err.code, err.message), (422, (
            'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")))
        d, _ = self.watch(resource_version_match="NotOlderThan")
        err = self.error(d)
        self.assertIn("resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                      "provided", err.message)
        d, _ = self.watch(label_selector="a b")
        self.assertEqual(self.error(d).code, 400)

    def test_too_old_resource_version(self):
        """A compacted resourceVersion gives one ERROR event with the 410 Status, then done."""
        first = self.cm("a").kv
        self.cm("b")
        compacted = self.ok(self.storage.current_revision())
        self.ok(self.storage.compact(compacted))
        d, events = self.watch(resource_version=str(first.mod_revision))
        w = self.ok(d)
        self.clock.advance(0)
        self.assertEqual([e.type for e in events], ["ERROR"])
        status = events[0].as_object()
        self.assertEqual(status["code"], 410)
        self.assertEqual(status["reason"], "Expired")
        self.assertEqual(status["message"],
                         f"too old resource version: {first.mod_revision} ({compacted})")
        self.successResultOf(w.done)
        self.cm("c")
        self.assertEqual(len(events), 1)

    def test_too_new_resource_version(self):
        """A resourceVersion ahead of the store is 504 Too large resource version."""
        self.cm("a")
        d, _ = self.watch(resource_version="999")
        self.clock.advance(5)
        err = self.error(d)
        self.assertEqual(err.code, 504)

    def test_stop_ends_delivery(self):
        """After stop() nothing more is sent and done has fired."""
        d, events = self.watch()
        w = self.ok(d)
        self.clock.advance(0)
        w.stop()
        self.cm("a")
        self.clock.advance(120)
        self.assertEqual(events, [])
        self.successResultOf(w.done)

    def test_stop_before_start(self):
        """A watch stopped before its first turn sends nothing."""
        self.cm("a")
        d, events = self.watch(allow_watch_bookmarks=True)
        self.ok(d).stop()
        self.clock.advance(120)
        self.assertEqual(events, [])

    def test_dry_run_sends_no_event(self):
        """Dry-run writes produce no watch events."""
        d, events = self.watch(resource_version=str(self.ok(self.storage.current_revision())))
        self.ok(d)
        self.clock.advance(0)
        self.create("configmaps", "default", {"metadata": {"name": "a"}}, dry_run=True)
        self.assertEqual(events, [])

    def test_many_writes_in_order_exactly_once(self):
        """Interleaved writes reach a watcher in revision order, each exactly once."""
        self.cm("seed")
        page = self.ok(self.store("configmaps").list(self.ctx, "default", ListOptions()))
        d, events = self.watch(resource_version=page.resource_version)
        for i in range(20):
            self.cm(f"o{i}")
            if i % 5 == 0:
                self.clock.advance(0)
        self.ok(d)
        self.clock.advance(0)
        self.assertEqual([n for _, n in summary(events)], [f"o{i}" for i in range(20)])
        revs = [e.kv.mod_revision for e in events]
        self.assertEqual(revs, sorted(set(revs)))


class DeletionWatchTests(RegistryTestCase):
    def test_finalizer_deletion_events(self):
        """Marking for deletion is MODIFIED; removing the last finalizer is one DELETED."""
        self.create("configmaps", "default", {"metadata": {"name": "a",
                                                           "finalizers": ["x.io/f"]}})
        events = []
        rv = str(self.ok(self.storage.current_revision()))
        self.ok(self.store("configmaps").watch(self.ctx, "default",
                                               ListOptions(resource_version=rv), events.append))
        self.clock.advance(0)
        store = self.store("configmaps")
        self.ok(store.delete(self.ctx, "default", "a", DeleteOptions()))
        self.ok(store.update(self.ctx, "default", "a", {"metadata": {"name": "a"}},
                             WriteOptions()))
        self.assertEqual(summary(events), [("MODIFIED", "a"), ("DELETED", "a")])

    def test_deadline_bookmark(self):
        """With timeoutSeconds and bookmarks, a BOOKMARK comes 2 seconds before the deadline."""
        self.cm("a")
        events = []
        w = self.ok(self.store("configmaps").watch(
            self.ctx, "default", ListOptions(allow_watch_bookmarks=True, timeout_seconds=10),
            events.append))
        self.clock.advance(0)
        self.clock.advance(7.9)
        self.assertEqual([e.type for e in events], ["ADDED"])
        self.clock.advance(0.2)
        self.assertEqual([e.type for e in events], ["ADDED", "BOOKMARK"])
        w.stop()

    def test_no_initial_events_from_zero(self):
        """sendInitialEvents=false with resourceVersion 0 starts at the newest revision."""
        self.cm("a")
        self.ok(self.storage.compact(self.ok(self.storage.current_revision())))
        events = []
        self.ok(self.store("configmaps").watch(self.ctx, "default", ListOptions(
            send_initial_events=False, resource_version_match="NotOlderThan",
            resource_version="0"), events.append))
        self.clock.advance(0)
        self.cm("b")
        self.assertEqual(summary(events), [("ADDED", "b")])
