"""
Who made a request: kube-apiserver's C{user.Info}, and the contract every
authenticator keeps.

An authenticator looks at one request and answers in one of three ways, as
in k8s.io/apiserver: a L{UserInfo} (authenticated), L{None} (no opinion: the
request carries no credentials of this kind), or raises
L{AuthenticationError} (credentials were presented and are wrong). A union
tries authenticators in order (L{kapi_twisted.auth.union}).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Protocol, Tuple

ANONYMOUS_USER = "system:anonymous"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ALL_AUTHENTICATED = "system:authenticated"
SYSTEM_MASTERS = "system:masters"
"""The group that passes every authorization check and every in-flight limit."""


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or anonymous) user: name, uid, groups, extra."""

    name: str
    uid: str = ""
    groups: Tuple[str, ...] = ()
    extra: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)

    def in_group(self, group: str) -> bool:
        return group in self.groups

    @property
    def is_anonymous(self) -> bool:
        return self.name == ANONYMOUS_USER


ANONYMOUS = UserInfo(ANONYMOUS_USER, groups=(ALL_UNAUTHENTICATED,))


class AuthenticationError(Exception):
    """Credentials were presented and could not be verified (answered 401)."""


class Authenticator(Protocol):
    """Anything with this method authenticates requests."""

    def authenticate(self, request: Any) -> Optional[UserInfo]:
        """
        A L{UserInfo}, L{None} for no opinion, or raise L{AuthenticationError}.

        C{request} is a twisted.web request (L{kapi_twisted.server.request.APIRequest}):
        authenticators read its headers, path and C{peer_certificate()}.
        """
        ...
