"""
Leader election over a C{coordination.k8s.io/v1} Lease, as
kube-controller-manager runs it (client-go C{tools/leaderelection}): when
several kapi servers share one store, only the holder of
C{kube-system/kube-controller-manager} runs the controllers, so they never
fight (two servers with different CAs would otherwise rewrite every
C{kube-root-ca.crt} forever).

The holder renews every C{retry_period}; another candidate takes over once
it has seen the same record unchanged for C{lease_duration} (its own clock,
never the holder's timestamps, decides). A holder that cannot renew within
C{renew_deadline} stops leading. Stopping releases the lease so that a
successor need not wait.
"""

from __future__ import annotations

import datetime
import socket
import uuid
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import Logger

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.interface import GetOptions

from . import _util

__all__ = ["LeaderElector", "LEASE_NAME", "LEASE_NAMESPACE", "new_identity"]

log = Logger()

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "kube-controller-manager"
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
#: How soon to try again when the lease's namespace does not exist yet (start-up).
_EARLY_RETRY = 0.1


def new_identity() -> str:
    """kube-controller-manager's C{<hostname>_<uuid>}."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def _micro_time(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """
    @param leases: the C{coordination.k8s.io/v1 leases} store.
    @param on_started_leading: called when this candidate becomes the leader.
    @param on_stopped_leading: called when it stops being the leader.
    """

    def __init__(self, leases: Any, clock: Any, identity: str,
                 on_started_leading: Callable[[], Any],
                 on_stopped_leading: Callable[[], Any],
                 namespace: str = LEASE_NAMESPACE, name: str = LEASE_NAME,
                 lease_duration: float = LEASE_DURATION, renew_deadline: float = RENEW_DEADLINE,
                 retry_period: float = RETRY_PERIOD) -> None:
        self.leases = leases
        self.clock = clock
        self.identity = identity
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.namespace = namespace
        self.name = name
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.leading = False
        self._observed: Optional[tuple] = None
        self._observed_at = 0.0
        self._last_renew = 0.0
        self._call: Any = None
        self._running = False
        self._first_round: Optional[Deferred] = None

    def start(self) -> Deferred:
        """Begin; fires after the first attempt (leading or not)."""
        self._running = True
        first = self._first_round = Deferred()
        self._round()
        return first

    @inlineCallbacks
    def stop(self):
        """Stop trying; a leader stops leading and releases the lease."""
        self._running = False
        if self._call is not None and self._call.active():
            self._call.cancel()
        if self.leading:
            self._lost()
            try:
                yield self._release()
            except APIError as e:
                log.warn("releasing the controller-manager lease failed: {error}",
                         error=e.message)

    # -- one round --------------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        if self._running:
            self._call = self.clock.callLater(delay, self._round)

    def _round(self) -> None:
        d = self._try_acquire_or_renew()

        def done(acquired: Any) -> None:
            if not self._running:
                return
            if acquired is None:
                # The lease's namespace is not there yet (start-up): ask again soon.
                self._schedule(_EARLY_RETRY)
                return
            now = self.clock.seconds()
            if acquired:
                self._last_renew = now
                if not self.leading:
                    self.leading = True
                    log.info("became the controller-manager leader ({identity})",
                             identity=self.identity)
                    self.on_started_leading()
            elif self.leading and now - self._last_renew > self.renew_deadline:
                log.warn("lost the controller-manager lease ({identity})", identity=self.identity)
                self._lost()
            self._fire_first_round()
            self._schedule(self.retry_period)

        def failed(failure: Any) -> None:
            _util.log_error(log, failure, "leader election round failed")
            done(False)

        d.addCallbacks(done, failed)

    def _fire_first_round(self) -> None:
        if self._first_round is not None:
            first, self._first_round = self._first_round, None
            first.callback(self.leading)

    def _lost(self) -> None:
        self.leading = False
        self.on_stopped_leading()

    @inlineCallbacks
    def _try_acquire_or_renew(self):
        """True when we hold the lease now; None when its namespace is not there yet."""
        ctx = _util.context()
        now = self.clock.seconds()
        try:
            kv = yield self.leases.get(ctx, self.namespace, self.name, GetOptions())
        except APIError as e:
            if e.code != 404:
                raise
            try:
                yield self.leases.create(ctx, self.namespace, self._lease(None, now),
                                         _util.write_options())
            except APIError as e:
                if e.code == 404:
                    return None
                if e.code == 409:
                    return False
                raise
            self._observe(None, now)
            return True
        lease = kv.object
        spec = lease.get("spec") or {}
        record = (spec.get("holderIdentity"), spec.get("renewTime"),
                  spec.get("leaseDurationSeconds"))
        if record != self._observed:
            self._observe(record, now)
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        if holder and holder != self.identity and now < self._observed_at + duration:
            return False
        try:
            yield self.leases.update(ctx, self.namespace, self.name, self._lease(lease, now),
                                     _util.write_options())
        except APIError as e:
            if e.code in (404, 409):
                return False
            raise
        return True

    def _observe(self, record: Optional[tuple], now: float) -> None:
        self._observed = record
        self._observed_at = now

    def _lease(self, current: Optional[dict], now: float) -> dict:
        stamp = _micro_time(now)
        spec = dict((current or {}).get("spec") or {})
        if spec.get("holderIdentity") != self.identity:
            spec["acquireTime"] = stamp
            if current is not None:
                spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
            else:
                spec["leaseTransitions"] = 0
        spec["holderIdentity"] = self.identity
        spec["leaseDurationSeconds"] = int(self.lease_duration)
        spec["renewTime"] = stamp
        meta = {"name": self.name, "namespace": self.namespace}
        if current is not None:
            meta = dict(current.get("metadata") or {})
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": spec}

    @inlineCallbacks
    def _release(self):
        ctx = _util.context()
        kv = yield self.leases.get(ctx, self.namespace, self.name, GetOptions())
        lease = kv.object
        spec = dict(lease.get("spec") or {})
        if spec.get("holderIdentity") != self.identity:
            return
        now = _micro_time(self.clock.seconds())
        spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=now, acquireTime=now)
        yield self.leases.update(ctx, self.namespace, self.name,
                                 {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                  "metadata": dict(lease.get("metadata") or {}), "spec": spec},
                                 _util.write_options())
