"""
The APIExtensions server: CustomResourceDefinitions and the custom resources
they define.

    from kapi_twisted.apiextensions import install_apiextensions

    install_apiextensions(top.apiextensions, storage, config, top.long_running)

serves C{apiextensions.k8s.io/v1} CRDs on the innermost server of the chain
and, live, every custom resource they define (L{server}, L{serving},
L{controllers}; custom resource stores in L{customresource}, conversion in
L{conversion}, OpenAPI in L{openapi}).

C{kapi_twisted.apiextensions.schema} holds the structural-schema machinery
(validation, pruning, defaulting, CEL rules) applied to custom objects, and
C{kapi_twisted.apiextensions.validation} validates the CustomResourceDefinition
objects themselves. Both are pure functions over decoded JSON, and importing
them does not import the serving code.
"""

from typing import Any

__all__ = ["install_apiextensions"]


def __getattr__(name: str) -> Any:
    # The serving code is imported on first use only (the schema package is pure).
    if name == "install_apiextensions":
        from kapi_twisted.apiextensions.server import install_apiextensions

        return install_apiextensions
    raise AttributeError(name)
