"""
Combining authenticators as kube-apiserver does
(C{union.New}, C{group.NewAuthenticatedGroupAdder}, C{union.NewFailOnError}):
the first authenticator that recognises the request wins; if none does but
one of them failed, the request fails (a bad bearer token is never treated
as anonymous); only a request with no credentials at all falls through to
the anonymous authenticator.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from kapi_twisted.auth.user import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    ANONYMOUS_USER,
    AuthenticationError,
    Authenticator,
    UserInfo,
)

_CACHE_LIMIT = 4096


class UnionAuthenticator:
    """
    @ivar authenticators: tried in order.
    @ivar anonymous: tried last, only when nobody had an opinion and no
        authenticator failed.
    """

    def __init__(
        self,
        authenticators: Sequence[Authenticator],
        anonymous: Optional[Authenticator] = None,
    ) -> None:
        self.authenticators = list(authenticators)
        self.anonymous = anonymous
        # Authenticators hand out the same UserInfo for the same credentials
        # (token table, certificate cache): add the group once per object.
        self._with_group: Dict[int, Tuple[UserInfo, UserInfo]] = {}

    def authenticate(self, request: Any) -> Optional[UserInfo]:
        errors: List[str] = []
        for authenticator in self.authenticators:
            try:
                user = authenticator.authenticate(request)
            except AuthenticationError as e:
                errors.append(str(e))
                continue
            if user is not None:
                cached = self._with_group.get(id(user))
                if cached is not None and cached[0] is user:
                    return cached[1]
                if len(self._with_group) >= _CACHE_LIMIT:
                    self._with_group.clear()
                result = with_authenticated_group(user)
                self._with_group[id(user)] = (user, result)
                return result
        if errors:
            raise AuthenticationError("; ".join(errors))
        if self.anonymous is not None:
            return self.anonymous.authenticate(request)
        return None


def with_authenticated_group(user: UserInfo) -> UserInfo:
    """C{user} with C{system:authenticated} added (not for the anonymous user)."""
    groups = user.groups
    if (
        user.name == ANONYMOUS_USER
        or ALL_AUTHENTICATED in groups
        or ALL_UNAUTHENTICATED in groups
    ):
        return user
    return UserInfo(user.name, user.uid, groups + (ALL_AUTHENTICATED,), user.extra)
