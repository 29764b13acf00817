"""
Connecting service-account tokens to the rest of the server once both the
stores and the request authenticator exist (the authenticator is built
with the filter chain, after the stores): the authenticator looks accounts
and bound objects up in the stores, the C{serviceaccounts/token}
subresource signs with the same issuer, and TokenReviews are answered by
the same authenticators.

    handler = build_handler_chain(...)
    install_service_account_tokens(handler.authenticator, top.stores)
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

from kapi_twisted.auth.authenticator import service_account_authenticator
from kapi_twisted.auth.serviceaccount import ServiceAccountAuthenticator
from kapi_twisted.auth.tokenreview import TokenReviewer

SERVICE_ACCOUNTS = ("", "v1", "serviceaccounts")
TOKEN_REVIEWS = ("authentication.k8s.io", "v1", "tokenreviews")


def install_service_account_tokens(
    authenticator: Any, stores: Mapping[Tuple[str, str, str], Any],
) -> Optional[ServiceAccountAuthenticator]:
    """
    Wire the service-account authenticator inside C{authenticator} (the
    chain's union) to C{stores}; returns it (None when the union has none,
    and then only TokenReviews are wired). Calling it again is harmless.
    """
    accounts = service_account_authenticator(authenticator)
    if accounts is not None:
        accounts.use_stores(stores)
        store = stores.get(SERVICE_ACCOUNTS)
        if store is not None:
            store.token_issuer = accounts.tokens
    reviews = stores.get(TOKEN_REVIEWS)
    if reviews is not None and hasattr(reviews, "use_reviewer"):
        audiences = accounts.tokens.api_audiences if accounts is not None else ()
        reviews.use_reviewer(TokenReviewer(authenticator, audiences))
    return accounts
