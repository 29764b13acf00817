"""
Admission: the checks kube-apiserver runs on a request after authorization
and before (or around) storage. Today: C{NamespaceLifecycle}.

    chain = AdmissionChain([NamespaceLifecycle(namespaces_store)])
    store.admission = chain          # for each store
"""

from kapi_twisted.admission.interface import (
    CONNECT,
    CREATE,
    DELETE,
    UPDATE,
    AdmissionChain,
    Attributes,
    IAdmission,
)
from kapi_twisted.admission.namespace_lifecycle import (
    IMMORTAL_NAMESPACES,
    NamespaceLifecycle,
)

__all__ = [
    "CONNECT", "CREATE", "DELETE", "UPDATE", "AdmissionChain", "Attributes", "IAdmission",
    "IMMORTAL_NAMESPACES", "NamespaceLifecycle", "install_admission",
]


def install_admission(stores, namespaces=None):
    """
    Run the admission plugins kube-apiserver enables by default (those we
    have: C{NamespaceLifecycle}) on every store in C{stores} (a mapping
    keyed (group, version, plural), or an iterable of stores). Returns the chain.
    """
    values = list(stores.values()) if hasattr(stores, "values") else list(stores)
    if namespaces is None:
        namespaces = next(s for s in values
                          if s.info.group == "" and s.info.plural == "namespaces")
    chain = AdmissionChain([NamespaceLifecycle(namespaces)])
    for store in values:
        if hasattr(store, "admission"):
            store.admission = chain
    return chain
