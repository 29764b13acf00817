"""
Causes (the C{{"reason", "message", "field"}} dicts the schema machinery
and CRD validation return) as the generic store's L{FieldError}s, so they
join its metadata errors in one 422 C{Invalid}.
"""

from __future__ import annotations

from typing import Iterable, List

from kapi_twisted.registry import validation as v


class CauseError(v.FieldError):
    """A L{v.FieldError} made from a ready cause: its message is kept as written."""

    def __init__(self, cause: dict) -> None:
        super().__init__(cause.get("reason") or v.INVALID_VALUE, cause.get("field") or "")
        self._cause = {"reason": cause.get("reason") or v.INVALID_VALUE,
                       "message": cause.get("message") or "",
                       "field": cause.get("field") or ""}

    def body(self) -> str:
        return self._cause["message"]

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.body()}"
        return self.body()

    __repr__ = __str__

    def cause(self) -> dict:
        return dict(self._cause)


def as_field_errors(causes: Iterable[dict]) -> List[v.FieldError]:
    return [CauseError(c) for c in causes]
