"""
L{GenericAPIServer}: one server of the chain (k8s.io/apiserver's
C{GenericAPIServer}), as a Twisted service.

Each server owns a twisted.web resource tree whose unknown paths go to its
delegate (L{kapi_twisted.server.delegation}); it keeps its own health checks,
post-start and pre-shutdown hooks and OpenAPI registrations, and sees its
delegate's through the chain. C{startService} is C{PrepareRun}: it installs
C{/openapi/v2}, C{/openapi/v3}, C{/healthz}, C{/livez} and C{/readyz} (with the
C{shutdown} check) on its own tree. Children of a MultiService start in order,
so a delegate is prepared before the server that wraps it, as in Go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.web.resource import IResource

from kapi_twisted.server.delegation import NotFoundResource, Router
from kapi_twisted.server.lifecycle import LifecycleSignals

log = Logger()


class HookError(Exception):
    """A hook was registered wrongly (empty or duplicate name, or too late)."""


@dataclass
class HealthCheck:
    """
    A named check for C{/healthz}, C{/livez} and C{/readyz}.

    @ivar check: called with no arguments; returns None (or a Deferred firing
        None) when healthy, raises (or fails) with the reason otherwise.
    @ivar group: checks sharing a group can be excluded together
        (C{?exclude=etcd}).
    """

    name: str
    check: Callable[[], Any]
    group: str = ""

    def run(self) -> Deferred:
        return maybeDeferred(self.check)


PostStartHook = Callable[["PostStartContext"], Any]


@dataclass
class PostStartContext:
    """What a post-start hook gets: the server and the process's signals."""

    server: "GenericAPIServer"
    lifecycle: LifecycleSignals
    reactor: Any


@dataclass
class _HookState:
    hook: PostStartHook
    done: bool = False
    error: Optional[str] = None
    deferred: Optional[Deferred] = field(default=None, repr=False)


class GenericAPIServer(Service):
    """
    @ivar root: this server's resource tree (a L{Router}); filters are not
        part of it, so a delegate is reached unfiltered.
    @ivar delegate: the next server in the chain, or L{None} at its end.
    """

    def __init__(
        self,
        name: str,
        delegate: Optional["GenericAPIServer"],
        lifecycle: LifecycleSignals,
        reactor: Any,
    ) -> None:
        self.setName(name)
        self.delegate = delegate
        self.lifecycle = lifecycle
        self.reactor = reactor
        if delegate is not None:
            delegate_root: IResource = delegate.root
        else:
            delegate_root = NotFoundResource(lifecycle.mux_and_discovery_complete)
        self.root = Router(delegate_root)
        self.healthz_checks: List[HealthCheck] = []
        self.livez_checks: List[HealthCheck] = []
        self.readyz_checks: List[HealthCheck] = []
        self._post_start_hooks: Dict[str, _HookState] = {}
        self._pre_shutdown_hooks: Dict[str, Callable[[], Any]] = {}
        self._post_start_hooks_started = False
        self._health_installed = False
        self._listed_paths: set = set()
        from kapi_twisted.server.openapi import OpenAPIRegistry

        self.openapi = OpenAPIRegistry()

    # -- the resource tree -------------------------------------------------

    def install(self, path: str, resource: IResource, listed: bool = True) -> None:
        """
        Put C{resource} at C{path} (e.g. C{/healthz} or C{/openapi/v3}) in this
        server's tree, making intermediate L{Router} nodes as needed. The path
        itself is answered by C{resource}; what lies below it is C{resource}'s
        business (a leaf resource sees the rest in C{request.postpath}).
        """
        segments = [s.encode() for s in path.strip("/").split("/")] if path.strip("/") else [b""]
        node = self.root
        for segment in segments[:-1]:
            child = node.children.get(segment)
            if child is None:
                child = Router(node.delegate)
                node.putChild(segment, child)
            elif not isinstance(child, Router):
                raise ValueError(f"{path}: {segment!r} is already served by {child!r}")
            node = child
        node.putChild(segments[-1], resource)
        if listed and path not in ("", "/"):
            self._listed_paths.add("/" + path.strip("/"))

    def install_router(self, path: str, index: Optional[IResource] = None) -> Router:
        """Make (or find) the L{Router} node at C{path}, optionally with an index."""
        segments = [s.encode() for s in path.strip("/").split("/")]
        node = self.root
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                child = Router(node.delegate)
                node.putChild(segment, child)
            node = child
        if index is not None:
            node.index = index
        self._listed_paths.add("/" + path.strip("/"))
        return node

    def listed_paths(self) -> List[str]:
        """This server's paths and its delegates', sorted (the index at C{/})."""
        paths = set(self._listed_paths)
        if self.delegate is not None:
            paths.update(self.delegate.listed_paths())
        return sorted(paths)

    # -- the chain ---------------------------------------------------------

    def chain(self) -> List["GenericAPIServer"]:
        """This server followed by its delegates, outermost first."""
        servers: List[GenericAPIServer] = []
        server: Optional[GenericAPIServer] = self
        while server is not None:
            servers.append(server)
            server = server.delegate
        return servers

    # -- health ------------------------------------------------------------

    def add_healthz_checks(self, *checks: HealthCheck) -> None:
        """Add checks to healthz, livez and readyz (as C{AddHealthChecks})."""
        self._refuse_after_install()
        self.healthz_checks.extend(checks)

    def add_readyz_checks(self, *checks: HealthCheck) -> None:
        self._refuse_after_install()
        self.readyz_checks.extend(checks)

    def add_livez_checks(self, *checks: HealthCheck) -> None:
        self._refuse_after_install()
        self.livez_checks.extend(checks)

    def _refuse_after_install(self) -> None:
        if self._health_installed:
            raise HookError("unable to add health checks: they are already installed")

    def all_healthz_checks(self) -> List[HealthCheck]:
        """Own healthz checks, then the delegates' not already named here."""
        checks = list(self.healthz_checks)
        if self.delegate is not None:
            names = {c.name for c in checks}
            checks += [c for c in self.delegate.all_healthz_checks() if c.name not in names]
        return checks

    # -- hooks -------------------------------------------------------------

    def add_post_start_hook(self, name: str, hook: PostStartHook) -> None:
        """
        Register a hook run once the server is listening. Its health check
        C{poststarthook/<name>} fails with "not finished" until it completes.
        """
        if not name:
            raise HookError("missing name")
        if hook is None:
            raise HookError(f"hook func may not be nil: {name!r}")
        if self._post_start_hooks_started:
            raise HookError(f"unable to add {name!r} because PostStartHooks have already been run")
        if name in self.all_post_start_hooks():
            raise HookError(f"unable to add {name!r} because it was already registered")
        self._post_start_hooks[name] = _HookState(hook)

    def add_pre_shutdown_hook(self, name: str, hook: Callable[[], Any]) -> None:
        if not name:
            raise HookError("missing name")
        if name in self._pre_shutdown_hooks:
            raise HookError(f"unable to add {name!r} because it is already registered")
        if hook is not None:
            self._pre_shutdown_hooks[name] = hook

    def all_post_start_hooks(self) -> Dict[str, _HookState]:
        """The delegates' hooks first, then this server's."""
        hooks: Dict[str, _HookState] = {}
        if self.delegate is not None:
            hooks.update(self.delegate.all_post_start_hooks())
        hooks.update(self._post_start_hooks)
        return hooks

    def all_pre_shutdown_hooks(self) -> Dict[str, Callable[[], Any]]:
        hooks: Dict[str, Callable[[], Any]] = {}
        if self.delegate is not None:
            hooks.update(self.delegate.all_pre_shutdown_hooks())
        hooks.update(self._pre_shutdown_hooks)
        return hooks

    def post_start_hook_checks(self) -> List[HealthCheck]:
        """One C{poststarthook/<name>} check per hook along the chain."""
        return [
            HealthCheck(f"poststarthook/{name}", _hook_check(state))
            for name, state in self.all_post_start_hooks().items()
        ]

    def run_post_start_hooks(self) -> Deferred:
        """
        Start every hook along the chain (called once the listener serves).
        Fires when all have finished; a failing hook is logged and its check
        keeps failing.
        """
        from twisted.internet.defer import DeferredList

        context = PostStartContext(self, self.lifecycle, self.reactor)
        deferreds = []
        for server in self.chain():
            server._post_start_hooks_started = True
        for name, state in self.all_post_start_hooks().items():
            d = maybeDeferred(state.hook, context)

            def finished(result: Any, state: _HookState = state) -> None:
                state.done = True

            def failed(failure: Any, name: str = name, state: _HookState = state) -> None:
                state.error = str(failure.value) or failure.type.__name__
                log.failure("PostStartHook {name!r} failed", failure, name=name)

            d.addCallbacks(finished, failed)
            state.deferred = d
            deferreds.append(d)
        return DeferredList(deferreds)

    # -- prepare-run -------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self.prepare_run()

    def prepare_run(self) -> None:
        """
        kube-apiserver's C{PrepareRun} for this server: OpenAPI, then health
        endpoints (with the readyz C{shutdown} check). Delegates were
        prepared first, having started first.
        """
        from kapi_twisted.server import healthz, index, openapi, version

        version.install_version(self)
        index.install_index(self)
        openapi.install_openapi(self)
        healthz.install_health(self)
        self._health_installed = True


def _hook_check(state: _HookState) -> Callable[[], None]:
    def check() -> None:
        if state.error is not None:
            raise RuntimeError(state.error)
        if not state.done:
            raise RuntimeError("not finished")

    return check
