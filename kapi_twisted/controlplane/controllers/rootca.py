"""
The root-ca-cert-publisher of kube-controller-manager
(C{pkg/controller/certificates/rootcacertpublisher}): every active
namespace has a ConfigMap C{kube-root-ca.crt} whose C{ca.crt} is the
cluster CA (the PEM of C{<cert-dir>/ca.crt}), so that pods can verify the
API server; it is re-created when deleted and put right when changed.
"""

from __future__ import annotations

import copy
from typing import Any

from kapi_twisted.registry.typebehaviour import ROOT_CA_CONFIG_MAP, root_ca_config_map

from .serviceaccounts import EnsureInNamespace
from ._informer import InformerSet

__all__ = ["RootCACertPublisher", "CONFIG_MAP_NAME", "DESCRIPTION_ANNOTATION",
           "root_ca_config_map"]

CONFIG_MAP_NAME = ROOT_CA_CONFIG_MAP
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = root_ca_config_map("", "")["metadata"]["annotations"][DESCRIPTION_ANNOTATION]


class RootCACertPublisher(EnsureInNamespace):
    """
    @param ca_pem: the CA bundle to publish.
    """

    name = "root-ca-cert-publisher"

    def __init__(self, namespaces: Any, configmaps: Any, informers: InformerSet, clock: Any,
                 ca_pem: str) -> None:
        self.ca_pem = ca_pem
        super().__init__(namespaces, configmaps, informers, clock, CONFIG_MAP_NAME,
                         lambda ns: root_ca_config_map(ns, ca_pem))

    def needs_update(self, current: dict) -> bool:
        annotations = (current.get("metadata") or {}).get("annotations") or {}
        return (current.get("data") != {"ca.crt": self.ca_pem}
                or not annotations.get(DESCRIPTION_ANNOTATION))

    def fix(self, current: dict) -> dict:
        fixed = copy.deepcopy(current)
        fixed["data"] = {"ca.crt": self.ca_pem}
        meta = fixed.setdefault("metadata", {})
        annotations = meta.get("annotations") or {}
        annotations[DESCRIPTION_ANNOTATION] = DESCRIPTION
        meta["annotations"] = annotations
        return fixed
