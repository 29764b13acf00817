"""
Defaults of rbac.authorization.k8s.io/v1: a binding's roleRef group and its
subjects' apiGroup (users and groups are RBAC's; service accounts core's).
"""

from __future__ import annotations

from typing import Callable, Dict

from ._util import JSON, blank, child, items

__all__ = ["DEFAULTERS"]

GROUP = "rbac.authorization.k8s.io"


def _binding(obj: JSON) -> None:
    role_ref = child(obj, "roleRef")
    if role_ref is not None and blank(role_ref, "apiGroup"):
        role_ref["apiGroup"] = GROUP
    for subject in items(obj, "subjects"):
        if blank(subject, "apiGroup"):
            kind = subject.get("kind")
            if kind in ("User", "Group"):
                subject["apiGroup"] = GROUP
            elif kind == "ServiceAccount":
                subject["apiGroup"] = ""


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "RoleBinding": _binding,
    "ClusterRoleBinding": _binding,
}
