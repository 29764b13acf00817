"""
Query parameters into the registry's option objects
(L{kapi_twisted.registry.interface}), with kube-apiserver's answers for bad
values: 400 for what cannot be parsed, 422 (details C{ListOptions},
C{CreateOptions}... of C{meta.k8s.io}) for what parses but is not allowed.
Unknown parameters are ignored, as kube-apiserver does (kopf sends
C{shardSelector}).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from kapi_twisted import apierrors
from kapi_twisted.registry.interface import (
    IGNORE,
    STRICT,
    WARN,
    DeleteOptions,
    GetOptions,
    ListOptions,
    WriteOptions,
)

Query = Mapping[str, Sequence[str]]

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_MAX_FIELD_MANAGER = 128


def query_of(request: Any) -> Dict[str, List[str]]:
    """The request's query as C{{name: [values]}} of text."""
    return {
        k.decode("utf-8", "replace"): [v.decode("utf-8", "replace") for v in vs]
        for k, vs in (request.args or {}).items()
    }


def _first(query: Query, key: str) -> Optional[str]:
    values = query.get(key)
    return values[0] if values else None


def parse_bool(query: Query, key: str) -> Optional[bool]:
    """Go's C{strconv.ParseBool} on one parameter (None when absent or empty)."""
    value = _first(query, key)
    if value is None or value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise apierrors.bad_request(
        f'strconv.ParseBool: parsing "{value}": invalid syntax'
    )


def parse_int(query: Query, key: str) -> Optional[int]:
    value = _first(query, key)
    if value is None or value == "":
        return None
    try:
        return int(value, 10)
    except ValueError:
        raise apierrors.bad_request(
            f'strconv.ParseInt: parsing "{value}": invalid syntax'
        ) from None


def _invalid(kind: str, field: str, cause: str, message: str) -> apierrors.APIError:
    return apierrors.invalid(
        kind, "", [apierrors.field_error(cause, field, message)], group="meta.k8s.io"
    )


def _dry_run(query: Query, kind: str) -> bool:
    values = [v for v in query.get("dryRun", []) if v != ""]
    for value in values:
        if value != "All":
            quoted = ", ".join(f'"{v}"' for v in values)
            raise _invalid(
                kind, "dryRun", apierrors.FIELD_VALUE_NOT_SUPPORTED,
                f'Unsupported value: []string{{{quoted}}}: supported values: "All"',
            )
    return bool(values)


def parse_get_options(query: Query) -> GetOptions:
    return GetOptions(resource_version=_first(query, "resourceVersion") or "")


def parse_list_options(query: Query, watch: bool) -> ListOptions:
    """ListOptions for a list (C{watch} False) or a watch, validated."""
    opts = ListOptions(
        label_selector=_first(query, "labelSelector") or "",
        field_selector=_first(query, "fieldSelector") or "",
        resource_version=_first(query, "resourceVersion") or "",
        resource_version_match=_first(query, "resourceVersionMatch") or "",
        continue_token=_first(query, "continue") or "",
        allow_watch_bookmarks=bool(parse_bool(query, "allowWatchBookmarks")),
        send_initial_events=parse_bool(query, "sendInitialEvents"),
        timeout_seconds=parse_int(query, "timeoutSeconds"),
    )
    limit = parse_int(query, "limit")
    opts.limit = limit if limit and limit > 0 else 0
    parse_bool(query, "watch")
    _validate_list(opts, watch)
    return opts


def _validate_list(opts: ListOptions, watch: bool) -> None:
    kind = "ListOptions"
    forbidden = apierrors.FIELD_VALUE_FORBIDDEN
    match = opts.resource_version_match
    if match:
        if match not in ("Exact", "NotOlderThan"):
            raise _invalid(
                kind, "resourceVersionMatch", apierrors.FIELD_VALUE_NOT_SUPPORTED,
                f'Unsupported value: "{match}": supported values: "Exact", "NotOlderThan", ""',
            )
        if watch:
            if not opts.send_initial_events:
                raise _invalid(
                    kind, "resourceVersionMatch", forbidden,
                    "Forbidden: resourceVersionMatch is forbidden for watch unless "
                    "sendInitialEvents is provided",
                )
        else:
            if not opts.resource_version:
                raise _invalid(
                    kind, "resourceVersionMatch", forbidden,
                    "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            if opts.continue_token:
                raise _invalid(
                    kind, "resourceVersionMatch", forbidden,
                    "Forbidden: resourceVersionMatch is forbidden when continue is provided",
                )
            if match == "Exact" and opts.resource_version == "0":
                raise _invalid(
                    kind, "resourceVersionMatch", forbidden,
                    'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
    if opts.send_initial_events is not None:
        if not watch:
            raise _invalid(
                kind, "sendInitialEvents", forbidden,
                "Forbidden: sendInitialEvents is forbidden for list",
            )
        if opts.send_initial_events and match != "NotOlderThan":
            raise _invalid(
                kind, "resourceVersionMatch", forbidden,
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )


def manager_from_user_agent(user_agent: str) -> str:
    """kube-apiserver's default field manager: the User-Agent up to its first C{/}."""
    prefix = user_agent.split("/", 1)[0]
    return prefix[:_MAX_FIELD_MANAGER]


def parse_write_options(query: Query, kind: str, user_agent: str = "") -> WriteOptions:
    """
    Create/update/patch options; C{kind} names the options in errors
    (C{CreateOptions}, C{UpdateOptions}, C{PatchOptions}).
    """
    dry_run = _dry_run(query, kind)
    manager = _first(query, "fieldManager") or ""
    if len(manager) > _MAX_FIELD_MANAGER:
        raise _invalid(
            kind, "fieldManager", apierrors.FIELD_VALUE_TOO_LONG,
            f"Too long: may not be more than {_MAX_FIELD_MANAGER} bytes",
        )
    if not manager.isprintable():
        raise _invalid(
            kind, "fieldManager", apierrors.FIELD_VALUE_INVALID,
            f'Invalid value: "{manager}": must only contain printable characters',
        )
    if not manager:
        manager = manager_from_user_agent(user_agent)
    validation = _first(query, "fieldValidation") or ""
    if validation not in ("", STRICT, WARN, IGNORE):
        raise _invalid(
            kind, "fieldValidation", apierrors.FIELD_VALUE_NOT_SUPPORTED,
            f'Unsupported value: "{validation}": supported values: "", "Ignore", "Strict", "Warn"',
        )
    return WriteOptions(
        dry_run=dry_run, field_manager=manager, field_validation=validation or WARN
    )


_POLICIES = ("Orphan", "Background", "Foreground")


def parse_delete_options(query: Query, body: Optional[dict]) -> DeleteOptions:
    """
    DeleteOptions from the request body when there is one, else from the
    query (C{gracePeriodSeconds}, C{propagationPolicy}, C{orphanDependents},
    C{dryRun}), validated.
    """
    kind = "DeleteOptions"
    if body:
        if not isinstance(body, dict):
            raise apierrors.bad_request("the body of a delete request must be a DeleteOptions object")
        body_kind = body.get("kind")
        if body_kind not in (None, "", "DeleteOptions"):
            raise apierrors.bad_request(
                f'unable to decode the body as DeleteOptions: kind "{body_kind}" is not DeleteOptions'
            )
        dry = body.get("dryRun") or []
        dry_query = {"dryRun": dry if isinstance(dry, list) else [dry]}
        grace = body.get("gracePeriodSeconds")
        if grace is not None and not isinstance(grace, int):
            raise apierrors.bad_request("gracePeriodSeconds must be an integer")
        policy = body.get("propagationPolicy") or ""
        orphan = body.get("orphanDependents")
        pre = body.get("preconditions") or {}
        opts = DeleteOptions(
            dry_run=_dry_run(dry_query, kind),
            grace_period_seconds=grace,
            propagation_policy=policy,
            orphan_dependents=orphan,
            precondition_uid=pre.get("uid") or "",
            precondition_resource_version=pre.get("resourceVersion") or "",
        )
    else:
        opts = DeleteOptions(
            dry_run=_dry_run(query, kind),
            grace_period_seconds=parse_int(query, "gracePeriodSeconds"),
            propagation_policy=_first(query, "propagationPolicy") or "",
            orphan_dependents=parse_bool(query, "orphanDependents"),
        )
    if opts.propagation_policy and opts.propagation_policy not in _POLICIES:
        raise _invalid(
            kind, "propagationPolicy", apierrors.FIELD_VALUE_NOT_SUPPORTED,
            f'Unsupported value: "{opts.propagation_policy}": supported values: '
            '"Foreground", "Background", "Orphan", "nil"',
        )
    if opts.propagation_policy and opts.orphan_dependents is not None:
        raise _invalid(
            kind, "propagationPolicy", apierrors.FIELD_VALUE_INVALID,
            f'Invalid value: "{opts.propagation_policy}": orphanDependents and '
            "deletionPropagation cannot be both set",
        )
    if opts.grace_period_seconds is not None and opts.grace_period_seconds < 0:
        opts.grace_period_seconds = 1
    return opts
