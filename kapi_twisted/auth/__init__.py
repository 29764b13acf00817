"""
Authentication (who is asking), and later authorization and admission.

Authenticators follow k8s.io/apiserver's contract (L{Authenticator}): a
user, no opinion, or a failure; L{UnionAuthenticator} combines them.
Service-account tokens are issued and verified by L{ServiceAccountTokens};
L{TokenReviewer} answers TokenReviews with the same authenticators.
"""

from kapi_twisted.auth.anonymous import PUBLIC_PATHS, AnonymousAuthenticator
from kapi_twisted.auth.authenticator import (
    build_authenticator,
    client_ca_path,
    service_account_authenticator,
)
from kapi_twisted.auth.clientcert import ClientCertAuthenticator, user_from_certificate
from kapi_twisted.auth.serviceaccount import (
    ServiceAccountAuthenticator,
    ServiceAccountTokens,
    TokenResponse,
)
from kapi_twisted.auth.tokenfile import (
    TokenFileAuthenticator,
    TokenFileError,
    bearer_token,
    parse_token_file,
)
from kapi_twisted.auth.tokenreview import TokenReviewer, TokenReviewResult
from kapi_twisted.auth.union import UnionAuthenticator, with_authenticated_group
from kapi_twisted.auth.user import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    ANONYMOUS,
    ANONYMOUS_USER,
    SYSTEM_MASTERS,
    AuthenticationError,
    Authenticator,
    UserInfo,
)

__all__ = [
    "ALL_AUTHENTICATED",
    "ALL_UNAUTHENTICATED",
    "ANONYMOUS",
    "ANONYMOUS_USER",
    "PUBLIC_PATHS",
    "SYSTEM_MASTERS",
    "AnonymousAuthenticator",
    "AuthenticationError",
    "Authenticator",
    "ClientCertAuthenticator",
    "ServiceAccountAuthenticator",
    "ServiceAccountTokens",
    "TokenFileAuthenticator",
    "TokenFileError",
    "TokenResponse",
    "TokenReviewResult",
    "TokenReviewer",
    "UnionAuthenticator",
    "UserInfo",
    "bearer_token",
    "build_authenticator",
    "client_ca_path",
    "parse_token_file",
    "service_account_authenticator",
    "user_from_certificate",
    "with_authenticated_group",
]
