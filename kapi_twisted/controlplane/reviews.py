"""
The create-only review resources kubectl and controllers ask questions
with: C{selfsubjectreviews} (C{kubectl auth whoami}), C{tokenreviews} (is
this bearer token valid, and whose is it: answered by the server's own
authenticators once L{TokenReviewStore.use_reviewer} is called), and the access reviews
(C{kubectl auth can-i}: C{selfsubjectaccessreviews}, also
C{selfsubjectrulesreviews}, C{subjectaccessreviews},
C{localsubjectaccessreviews}). They are never stored: C{create} answers the
request with its C{status} filled in.

Access decisions come from C{authorize(user, attributes) -> (allowed,
reason)}; until the server enforces authorization, every request is
allowed (as kube-apiserver's C{AlwaysAllow} authorizer answers).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Optional, Tuple

from twisted.internet.defer import succeed
from zope.interface import implementer

from kapi_twisted import apierrors
from kapi_twisted.apis.registry import ResourceInfo, lookup
from kapi_twisted.registry.interface import IResourceStore, WriteResult

Authorize = Callable[[Any, Dict[str, Any]], Tuple[bool, str]]


def always_allow(user: Any, attributes: Dict[str, Any]) -> Tuple[bool, str]:
    return True, ""


def _user_info(user: Any) -> Dict[str, Any]:
    if user is None:
        return {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    info: Dict[str, Any] = {"username": getattr(user, "name", "")}
    if getattr(user, "uid", ""):
        info["uid"] = user.uid
    groups = list(getattr(user, "groups", ()) or ())
    if groups:
        info["groups"] = groups
    extra = getattr(user, "extra", None) or {}
    if extra:
        info["extra"] = {k: list(v) for k, v in extra.items()}
    return info


@implementer(IResourceStore)
class ReviewStore:
    """A resource whose only verb is create, answered from C{review(ctx, obj)}."""

    def __init__(self, info: ResourceInfo, review: Callable[[Any, dict], dict]) -> None:
        self.info = info
        self._review = review

    def create(self, ctx: Any, namespace: str, obj: dict, options: Any):
        answer = copy.deepcopy(obj)
        meta = answer.setdefault("metadata", {})
        meta.setdefault("creationTimestamp", None)
        if self.info.namespaced and namespace:
            spec_ns = ((answer.get("spec") or {}).get("resourceAttributes") or {}).get("namespace")
            if spec_ns not in (None, "", namespace):
                raise apierrors.bad_request(
                    f"spec.resourceAttributes.namespace must match namespace: {namespace}")
        answer["status"] = self._review(ctx, answer)
        return succeed(WriteResult(object=answer, created=True))

    def _not_supported(self, *args: Any, **kwargs: Any):
        raise apierrors.method_not_allowed()

    get = list = watch = update = patch = delete = delete_collection = _not_supported


class TokenReviewStore(ReviewStore):
    """
    C{authentication.k8s.io/v1 tokenreviews}: the token is reviewed by a
    L{kapi_twisted.auth.TokenReviewer}; without one (not wired yet) the
    review is answered with an empty status, as kube-apiserver answers
    when it has no token authenticator.
    """

    def __init__(self, info: ResourceInfo) -> None:
        super().__init__(info, self._review_token)
        self.reviewer: Any = None

    def use_reviewer(self, reviewer: Any) -> None:
        self.reviewer = reviewer

    def _review_token(self, ctx: Any, obj: dict) -> dict:
        spec = obj.get("spec") or {}
        token = spec.get("token") or ""
        if not isinstance(token, str) or not token:
            raise apierrors.bad_request("token is required for TokenReview in authentication")
        status: Dict[str, Any] = {"user": {}}
        if self.reviewer is None:
            return status
        audiences = [a for a in spec.get("audiences") or [] if isinstance(a, str)]
        result = self.reviewer.review(token, audiences)
        if result.user is not None:
            status["authenticated"] = True
            status["user"] = _user_info(result.user)
            if result.audiences:
                status["audiences"] = list(result.audiences)
        if result.error:
            status["error"] = result.error
        return status


def review_stores(authorize: Optional[Authorize] = None) -> Dict[Tuple[str, str, str], Any]:
    """The review resources' stores, keyed like the generic stores."""
    authorize = authorize or always_allow

    def whoami(ctx: Any, obj: dict) -> dict:
        return {"userInfo": _user_info(ctx.user)}

    def access(ctx: Any, obj: dict) -> dict:
        spec = obj.get("spec") or {}
        attributes = spec.get("resourceAttributes") or spec.get("nonResourceAttributes") or {}
        user = ctx.user
        if "user" in spec or "groups" in spec:
            user = {"name": spec.get("user", ""), "groups": spec.get("groups") or []}
        allowed, reason = authorize(user, attributes)
        status: Dict[str, Any] = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        return status

    def rules(ctx: Any, obj: dict) -> dict:
        return {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }

    wanted = {
        ("authentication.k8s.io", "v1", "selfsubjectreviews"): whoami,
        ("authorization.k8s.io", "v1", "selfsubjectaccessreviews"): access,
        ("authorization.k8s.io", "v1", "subjectaccessreviews"): access,
        ("authorization.k8s.io", "v1", "localsubjectaccessreviews"): access,
        ("authorization.k8s.io", "v1", "selfsubjectrulesreviews"): rules,
    }
    stores = {}
    for key, review in wanted.items():
        info = lookup(*key)
        if info is not None:
            stores[key] = ReviewStore(info, review)
    info = lookup("authentication.k8s.io", "v1", "tokenreviews")
    if info is not None:
        stores[("authentication.k8s.io", "v1", "tokenreviews")] = TokenReviewStore(info)
    return stores
