"""
Request deadlines when many requests wait at once: each request gets its
504 at its own deadline, whatever the others do, and no timer outlives its
request.
"""

from __future__ import annotations

from tests.test_filters import ALICE, PODS, ChainTestCase
from tests.test_filters_harness import parse_responses


class ManyDeadlinesTests(ChainTestCase):
    def codes(self, transport) -> list:  # type: ignore[no-untyped-def]
        return [r.code for r in parse_responses(transport.value())]

    def test_each_request_expires_at_its_own_deadline(self) -> None:
        """Requests sent 10s apart get their 504s 10s apart, each 60s after it arrived."""
        clock = self.server.clock
        _, first = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        clock.advance(10)
        _, second = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        clock.advance(49.9)
        self.assertEqual((self.codes(first), self.codes(second)), ([], []))
        clock.advance(0.1)
        self.assertEqual((self.codes(first), self.codes(second)), ([504], []))
        clock.advance(9.9)
        self.assertEqual(self.codes(second), [])
        clock.advance(0.1)
        self.assertEqual(self.codes(second), [504])
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_answered_request_does_not_hold_up_others(self) -> None:
        """When the first of two waiting requests is answered, the second still times out on time."""
        clock = self.server.clock
        _, first = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        clock.advance(30)
        _, second = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        self.app.answer(0)
        self.assertEqual(self.codes(first), [200])
        clock.advance(59.9)
        self.assertEqual(self.codes(second), [])
        clock.advance(0.1)
        self.assertEqual(self.codes(second), [504])
        self.assertEqual(self.server.wait_group.count, 0)

    def test_no_timer_left_once_all_answered(self) -> None:
        """Once every waiting request was answered, no timer is left behind."""
        for _ in range(3):
            self.server.send(b"GET", PODS + b"?hang=1", ALICE)
            self.server.clock.advance(1)
        for _ in range(3):
            self.app.answer()
        self.assertEqual(self.server.clock.getDelayedCalls(), [])

    def test_shorter_timeout_among_default_ones(self) -> None:
        """A ?timeout=5s request sent after a default one times out first, at 5s."""
        clock = self.server.clock
        _, slow = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        _, quick = self.server.send(b"GET", PODS + b"?hang=1&timeout=5s", ALICE)
        clock.advance(5)
        self.assertEqual((self.codes(slow), self.codes(quick)), ([], [504]))
        clock.advance(55)
        self.assertEqual(self.codes(slow), [504])

    def test_request_after_a_timeout_gets_a_full_deadline(self) -> None:
        """A request arriving just after another timed out still gets its full 60s."""
        clock = self.server.clock
        _, first = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        clock.advance(60)
        self.assertEqual(self.codes(first), [504])
        _, second = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        clock.advance(59.9)
        self.assertEqual(self.codes(second), [])
        clock.advance(0.1)
        self.assertEqual(self.codes(second), [504])
