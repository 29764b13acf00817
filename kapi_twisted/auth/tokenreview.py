"""
Reviewing a bearer token with the server's own authenticators, as
kube-apiserver's C{TokenReview} does: the token is presented alone (no
client certificate, no anonymous fallback) to every authenticator of the
union; audience-aware ones (service-account tokens) check the review's
audiences, the others count only for the API's own audiences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from kapi_twisted.auth.union import with_authenticated_group
from kapi_twisted.auth.user import AuthenticationError, UserInfo

INVALID_TOKEN = "invalid bearer token"


@dataclass(frozen=True)
class TokenReviewResult:
    """C{user} is None when the token did not authenticate; C{error} says why (may be empty)."""

    user: Optional[UserInfo]
    audiences: Tuple[str, ...] = ()
    error: str = ""


class _TokenOnly:
    """A request whose only credential is a bearer token."""

    path = b"/"

    def __init__(self, token: str, audiences: Tuple[str, ...]) -> None:
        self._authorization = ("Bearer " + token).encode("utf-8", "replace")
        self.token_audiences = audiences

    def getHeader(self, name: bytes) -> Optional[bytes]:
        return self._authorization if name.lower() == b"authorization" else None


class TokenReviewer:
    """
    @param authenticator: the server's request authenticator (a
        L{kapi_twisted.auth.UnionAuthenticator}, or one authenticator).
    @param api_audiences: the API's audiences, the default of a review.
    """

    def __init__(self, authenticator: Any, api_audiences: Sequence[str]) -> None:
        self.authenticator = authenticator
        self.api_audiences = tuple(api_audiences)

    def review(self, token: str, audiences: Sequence[str] = ()) -> TokenReviewResult:
        wanted = tuple(audiences) or self.api_audiences
        implicit = tuple(a for a in self.api_audiences if a in wanted)
        request = _TokenOnly(token, wanted)
        errors: List[str] = []
        for authenticator in getattr(self.authenticator, "authenticators", [self.authenticator]):
            try:
                by_token = getattr(authenticator, "authenticate_token", None)
                if by_token is not None:
                    response = by_token(token, wanted)
                    if response is not None:
                        return TokenReviewResult(with_authenticated_group(response.user),
                                                 tuple(response.audiences))
                    continue
                if self.api_audiences and not implicit:
                    continue  # audience-agnostic: valid for the API's audiences only
                user = authenticator.authenticate(request)
                if user is not None and not user.is_anonymous:
                    return TokenReviewResult(with_authenticated_group(user), implicit)
            except AuthenticationError as e:
                errors.append(str(e))
        if not errors:
            return TokenReviewResult(None, (), INVALID_TOKEN)
        return TokenReviewResult(None, (), errors[0] if len(errors) == 1
                                 else "[" + ", ".join(errors) + "]")
