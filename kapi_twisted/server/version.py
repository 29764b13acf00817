"""
C{/version}: which Kubernetes this server is, as kube-apiserver 1.37 says it.

C{kubectl version} prints C{gitVersion} ("Server Version: v1.37.0") and
compares C{major}/C{minor} with its own for the skew warning; client-go and
operators parse C{gitVersion} as a semantic version. Those fields carry
Kubernetes 1.37's values. The build fields nobody parses tell the truth where
a truth exists: C{compiler} names this implementation, C{platform} is the
host's in Go's C{GOOS/GOARCH} spelling. C{goVersion} has no true value here
(there is no Go); it holds a Go release plausible for a 1.37 build so tools
that display or pattern-match it keep working. Builds are not stamped, so
C{gitCommit}, C{gitTreeState} and C{buildDate} hold Kubernetes' own
defaults for an unstamped build.
"""

from __future__ import annotations

import json
import platform as _platform
import sys
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Optional, Tuple

from kapi_twisted import apierrors
from kapi_twisted.server.openapi import security, security_schemes
from kapi_twisted.server.responses import JSON, APIResource, Response

__all__ = [
    "GIT_VERSION",
    "MAJOR",
    "MINOR",
    "VersionInfo",
    "VersionResource",
    "default_version_info",
    "go_platform",
    "install_version",
]

MAJOR = "1"
MINOR = "37"
GIT_VERSION = f"v{MAJOR}.{MINOR}.0"
GO_VERSION = "go1.26.0"
COMPILER = "kapi-twisted"

_GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "386",
    "i686": "386",
    "x86": "386",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def go_platform(system: Optional[str] = None, machine: Optional[str] = None) -> str:
    """The host as Go names it: C{linux/amd64}, C{darwin/arm64}, C{windows/amd64}."""
    system = (system if system is not None else sys.platform).lower()
    if system.startswith("linux"):
        goos = "linux"
    elif system in ("win32", "cygwin", "windows"):
        goos = "windows"
    elif system.startswith("freebsd"):
        goos = "freebsd"
    else:
        goos = system
    machine = (machine if machine is not None else _platform.machine()).lower()
    return f"{goos}/{_GOARCH.get(machine, machine)}"


@dataclass(frozen=True)
class VersionInfo:
    """
    k8s.io/apimachinery's C{version.Info}. The four emulation/compatibility
    fields are left out of the JSON when empty, as in Go.
    """

    major: str = MAJOR
    minor: str = MINOR
    emulationMajor: str = MAJOR
    emulationMinor: str = MINOR
    minCompatibilityMajor: str = MAJOR
    minCompatibilityMinor: str = str(int(MINOR) - 1)
    gitVersion: str = GIT_VERSION
    gitCommit: str = ""
    gitTreeState: str = ""
    buildDate: str = "1970-01-01T00:00:00Z"
    goVersion: str = GO_VERSION
    compiler: str = COMPILER
    platform: str = ""

    _OMIT_EMPTY: ClassVar[Tuple[str, ...]] = (
        "emulationMajor",
        "emulationMinor",
        "minCompatibilityMajor",
        "minCompatibilityMinor",
    )

    def as_dict(self) -> Dict[str, str]:
        """The fields in the order kube-apiserver writes them."""
        out: Dict[str, str] = {}
        for name in (
            "major",
            "minor",
            "emulationMajor",
            "emulationMinor",
            "minCompatibilityMajor",
            "minCompatibilityMinor",
            "gitVersion",
            "gitCommit",
            "gitTreeState",
            "buildDate",
            "goVersion",
            "compiler",
            "platform",
        ):
            value = getattr(self, name)
            if value or name not in self._OMIT_EMPTY:
                out[name] = value
        return out

    def to_json(self) -> bytes:
        """Indented with two spaces and no trailing newline (go-restful's C{WriteRawJSON})."""
        return json.dumps(self.as_dict(), indent=2).encode("utf-8")


def default_version_info() -> VersionInfo:
    """Kubernetes 1.37 on this host."""
    return VersionInfo(platform=go_platform())


class VersionResource(APIResource):
    """C{GET /version} (and C{/version/}); other methods get go-restful's 405."""

    def __init__(self, info: VersionInfo) -> None:
        super().__init__()
        self.body = info.to_json()

    def handle(self, request: Any) -> Response:
        if request.postpath not in ([], [b""]):
            raise apierrors.route_not_found()
        if request.method != b"GET":
            raise apierrors.method_not_allowed()
        return Response(self.body, 200, JSON)


_INFO_DEFINITION = "io.k8s.apimachinery.pkg.version.Info"


def _info_schema() -> Dict[str, Any]:
    from kapi_twisted.apis import openapi

    return openapi.definitions()[_INFO_DEFINITION]


def _operation() -> Dict[str, Any]:
    return {
        "tags": ["version"],
        "description": "get the code version",
        "operationId": "getCodeVersion",
    }


def _v2() -> Tuple[Dict[str, Any], Dict[str, Any]]:
    op = _operation()
    op.update(
        {
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "schemes": ["https"],
            "responses": {
                "200": {"description": "OK", "schema": {"$ref": f"#/definitions/{_INFO_DEFINITION}"}},
                "401": {"description": "Unauthorized"},
            },
        }
    )
    return {"/version/": {"get": op}}, {_INFO_DEFINITION: _info_schema()}


def _v3() -> Dict[str, Any]:
    op = _operation()
    op["responses"] = {
        "200": {
            "description": "OK",
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{_INFO_DEFINITION}"}
                }
            },
        },
        "401": {"description": "Unauthorized"},
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": {"/version/": {"get": op}},
        "components": {
            "schemas": {_INFO_DEFINITION: _info_schema()},
            "securitySchemes": security_schemes(),
        },
        "security": security(),
    }


def install_version(server: Any, info: Optional[VersionInfo] = None) -> None:
    """
    Serve C{/version} from C{server}'s tree and publish its OpenAPI (the
    C{/version/} path in v2, the C{version} document in v3).
    """
    server.install("/version", VersionResource(info or default_version_info()))
    server.openapi.add_v2("version", _v2)
    server.openapi.add_group_version("version", _v3)
