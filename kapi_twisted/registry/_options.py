"""
Validation of request options (ListOptions for list and watch, the write
options) and the resourceVersion rules of a LIST, as kube-apiserver applies
them before it touches storage.
"""

from __future__ import annotations

from typing import List, Optional

from kapi_twisted import apierrors
from kapi_twisted.apierrors import APIError

from . import validation as v
from .interface import IGNORE, STRICT, WARN, DeleteOptions, ListOptions, WriteOptions

EXACT = "Exact"
NOT_OLDER_THAN = "NotOlderThan"


def validate_list_options(options: ListOptions) -> None:
    """Raise 422 (ListOptions, meta.k8s.io) for a list's forbidden combinations."""
    errs: List[v.FieldError] = []
    match = options.resource_version_match
    if match:
        if not options.resource_version:
            errs.append(v.forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if options.continue_token:
            errs.append(v.forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided"))
        if match not in (EXACT, NOT_OLDER_THAN):
            errs.append(v.not_supported(
                "resourceVersionMatch", match, [EXACT, NOT_OLDER_THAN, ""]))
        if match == EXACT and options.resource_version == "0":
            errs.append(v.forbidden(
                "resourceVersionMatch",
                'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if options.send_initial_events is not None:
        errs.append(v.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    if errs:
        raise v.invalid_options("ListOptions", errs)


def validate_watch_options(options: ListOptions) -> None:
    """Raise 422 (ListOptions, meta.k8s.io) for a watch's forbidden combinations."""
    errs: List[v.FieldError] = []
    match = options.resource_version_match
    if options.send_initial_events is not None and match != NOT_OLDER_THAN:
        errs.append(v.forbidden(
            "resourceVersionMatch",
            f"sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}"))
    if match:
        if options.send_initial_events is None:
            errs.append(v.forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
        if match != NOT_OLDER_THAN:
            errs.append(v.not_supported("resourceVersionMatch", match, [NOT_OLDER_THAN]))
        if options.continue_token:
            errs.append(v.forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided"))
    if errs:
        raise v.invalid_options("ListOptions", errs)


def parse_resource_version(rv: str) -> Optional[int]:
    """C{""} -> None; a decimal -> int; anything else -> 400."""
    if rv == "":
        return None
    try:
        value = int(rv)
        if value < 0 or not rv.isdigit():
            raise ValueError(rv)
    except ValueError:
        raise apierrors.bad_request(f"invalid resource version: {rv}")
    return value


def validate_write_options(options: WriteOptions, kind: str) -> None:
    """fieldManager and fieldValidation of a write (C{kind}: CreateOptions, UpdateOptions...)."""
    errs = v.validate_field_manager(options.field_manager or "")
    if options.field_validation not in (STRICT, WARN, IGNORE, ""):
        errs.append(v.not_supported(
            "fieldValidation", options.field_validation, [IGNORE, WARN, STRICT]))
    if errs:
        raise v.invalid_options(kind, errs)


def dry_run_error(values: List[str], kind: str) -> Optional[APIError]:
    """
    For handlers: the 422 for C{?dryRun=} values other than C{All}
    (C{kind}: CreateOptions, UpdateOptions, PatchOptions or DeleteOptions), or None.
    """
    errs = v.validate_dry_run(values)
    return v.invalid_options(kind, errs) if errs else None


PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


def validate_delete_options(options: DeleteOptions) -> None:
    """Raise 422 (DeleteOptions, meta.k8s.io) for an unknown or doubled propagation policy."""
    errs: List[v.FieldError] = []
    policy = options.propagation_policy
    if options.orphan_dependents is not None and policy:
        errs.append(v.invalid_value(
            "propagationPolicy", policy, "orphanDependents and deletionPropagation cannot be both set"))
    if policy and policy not in PROPAGATION_POLICIES:
        errs.append(v.not_supported("propagationPolicy", policy, PROPAGATION_POLICIES + ("nil",)))
    if errs:
        raise v.invalid_options("DeleteOptions", errs)
