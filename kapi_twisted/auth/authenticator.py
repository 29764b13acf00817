"""
The request authenticator of one server process, built from its flags the
way kube-apiserver's C{BuiltInAuthenticationOptions.ToAuthenticationConfig}
does: client certificates, static bearer tokens, then service-account tokens
(which need the stores: L{ServiceAccountAuthenticator.use_stores}), with
anonymous access restricted to the public health and version paths.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from kapi_twisted.auth.anonymous import AnonymousAuthenticator
from kapi_twisted.auth.clientcert import ClientCertAuthenticator
from kapi_twisted.auth.serviceaccount import ServiceAccountAuthenticator, ServiceAccountTokens
from kapi_twisted.auth.tokenfile import TokenFileAuthenticator, TokenFileError
from kapi_twisted.auth.union import UnionAuthenticator


def client_ca_path(config: Any) -> str:
    """C{--client-ca-file}, else the CA generated in C{--cert-dir}."""
    return config.client_ca_file or os.path.join(config.cert_dir, "ca.crt")


def build_authenticator(config: Any, clock: Optional[Any] = None) -> UnionAuthenticator:
    """
    The authenticator for C{config} (a L{kapi_twisted.config.ServerConfig}).
    Raises L{kapi_twisted.config.ConfigError} for an unusable token file.
    """
    from kapi_twisted.config import ConfigError

    authenticators: list = [ClientCertAuthenticator(client_ca_path(config), clock)]
    if config.token_auth_file:
        try:
            authenticators.append(TokenFileAuthenticator.from_file(config.token_auth_file))
        except TokenFileError as e:
            raise ConfigError(f"--token-auth-file: {e}") from None
    authenticators.append(
        ServiceAccountAuthenticator(ServiceAccountTokens.from_config(config), clock))
    return UnionAuthenticator(authenticators, AnonymousAuthenticator())


def service_account_authenticator(authenticator: Any) -> Optional[ServiceAccountAuthenticator]:
    """The L{ServiceAccountAuthenticator} inside C{authenticator} (a union), if any."""
    for candidate in getattr(authenticator, "authenticators", [authenticator]):
        if isinstance(candidate, ServiceAccountAuthenticator):
            return candidate
    return None
