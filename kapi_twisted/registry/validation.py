"""
Field errors and object-metadata validation, worded as kube-apiserver words
them (k8s.io/apimachinery util/validation, api/validation), so a 422 from
here reads exactly like one from a real cluster.

A L{FieldError} is one problem at one field path; L{invalid} turns a list of
them into the 422 C{Invalid} L{APIError} (one cause per error, the message
joining the distinct texts as Go's error aggregate does).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from kapi_twisted.apierrors import APIError, INVALID

# Field error types (serialised as the cause "reason").
NOT_FOUND = "FieldValueNotFound"
REQUIRED = "FieldValueRequired"
DUPLICATE = "FieldValueDuplicate"
INVALID_VALUE = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
INTERNAL = "InternalError"

_TYPE_TEXT = {
    NOT_FOUND: "Not found",
    REQUIRED: "Required value",
    DUPLICATE: "Duplicate value",
    INVALID_VALUE: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    INTERNAL: "Internal error",
}

_OMIT = object()


class FieldError:
    """One validation problem at one field path (Go's C{field.Error})."""

    def __init__(self, type_: str, field: str, bad_value: Any = _OMIT, detail: str = "") -> None:
        self.type = type_
        self.field = field
        self.bad_value = bad_value
        self.detail = detail

    def body(self) -> str:
        """The message without the field path (a cause's C{message})."""
        text = _TYPE_TEXT.get(self.type, self.type)
        if self.type not in (REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL) and self.bad_value is not _OMIT:
            text += ": " + format_value(self.bad_value)
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    __repr__ = __str__

    def cause(self) -> dict:
        return {"reason": self.type, "message": self.body(), "field": self.field}


def format_value(value: Any) -> str:
    """A bad value as Go prints it in a field error: quoted strings, JSON otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    return json.dumps(value, separators=(",", ":"))


def go_quote(value: str) -> str:
    """Go's C{%q} for the strings we meet (JSON escaping is close enough)."""
    return json.dumps(value, ensure_ascii=False)


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, "", detail)


def invalid_value(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID_VALUE, field, value, detail)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, "", detail)


def not_supported(field: str, value: Any, supported: Sequence[str]) -> FieldError:
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
    return FieldError(NOT_SUPPORTED, field, value, detail)


def too_long(field: str, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError(TOO_LONG, field, _OMIT, f"may not be more than {max_length} {unit}")


def aggregate_message(errors: Sequence[FieldError]) -> str:
    """Go's C{ErrorList.ToAggregate().Error()}: distinct texts, bracketed when several."""
    texts: List[str] = []
    for e in errors:
        t = str(e)
        if t not in texts:
            texts.append(t)
    if len(texts) == 1:
        return texts[0]
    return "[" + ", ".join(texts) + "]"


def invalid(kind: str, name: str, errors: Sequence[FieldError], group: str = "") -> APIError:
    """The 422 C{Invalid} answer for C{errors} about object C{name} of C{kind}."""
    qualified = f"{kind}.{group}" if group else kind
    message = f"{qualified} {go_quote(name)} is invalid: {aggregate_message(errors)}"
    details: Dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [e.cause() for e in errors]
    return APIError(422, INVALID, message, details)


def invalid_options(kind: str, errors: Sequence[FieldError]) -> APIError:
    """422 about request options (C{ListOptions}, C{CreateOptions}...) in meta.k8s.io."""
    return invalid(kind, "", errors, group="meta.k8s.io")


# --- names (k8s.io/apimachinery/pkg/util/validation) -------------------------------------

def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    text = msg + " (e.g. "
    for i, ex in enumerate(examples):
        if i:
            text += " or "
        text += f"'{ex}', "
    return text + f"regex used for validation is '{fmt}')"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} bytes"


EMPTY_ERROR = "must be non-empty"

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character"
)
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character"
)
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)

_DNS1123_LABEL = re.compile("^" + DNS1123_LABEL_FMT + "$")
_DNS1123_SUBDOMAIN = re.compile("^" + DNS1123_SUBDOMAIN_FMT + "$")
_DNS1035_LABEL = re.compile("^" + DNS1035_LABEL_FMT + "$")
_QUALIFIED_NAME = re.compile("^" + QUALIFIED_NAME_FMT + "$")
_LABEL_VALUE = re.compile("^" + LABEL_VALUE_FMT + "$")


def is_dns1123_label(value: str) -> List[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _DNS1123_LABEL.match(value):
        if _DNS1123_SUBDOMAIN.match(value):
            # A valid subdomain that is no label: it has dots.
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> List[str]:
    errs = []
    if len(value) > 253:
        errs.append(_max_len_error(253))
    if not _DNS1123_SUBDOMAIN.match(value):
        errs.append(_regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> List[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _DNS1035_LABEL.match(value):
        errs.append(_regex_error(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> List[str]:
    errs: List[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + EMPTY_ERROR)
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a valid label key "
            + _regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + EMPTY_ERROR)
    elif len(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _QUALIFIED_NAME.match(name):
        errs.append(
            "name part "
            + _regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> List[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _LABEL_VALUE.match(value):
        errs.append(_regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def path_segment_errors(name: str, prefix: bool = False) -> List[str]:
    """Why C{name} cannot be one URL path segment (empty list: it can)."""
    if not prefix:
        for bad in (".", ".."):
            if name == bad:
                return [f"may not be '{bad}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


#: A name rule: (name, is_generate_name_prefix) -> messages.
NameRule = Callable[[str, bool], List[str]]


def _mask_trailing_dash(name: str) -> str:
    if len(name) > 1 and name.endswith("-"):
        return name[:-1] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> List[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> List[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> List[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def name_is_path_segment(name: str, prefix: bool) -> List[str]:
    return path_segment_errors(name, prefix)


# --- object metadata (k8s.io/apimachinery/pkg/api/validation/objectmeta.go) --------------

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
_FIELD_MANAGER_MAX = 128


# Label keys and values already found valid: the same few recur on object
# after object, and checking them (a split and regular expressions) was a
# visible part of every create. Emptied when full, so any text is checked
# again later; validity depends on the text alone.
_GOOD_LABEL_KEYS: set = set()
_GOOD_LABEL_VALUES: set = set()
_GOOD_LABELS_MAX = 4096


def validate_labels(labels: Any, path: str) -> List[FieldError]:
    errs: List[FieldError] = []
    if not isinstance(labels, dict):
        return errs
    good_keys, good_values = _GOOD_LABEL_KEYS, _GOOD_LABEL_VALUES
    for key, value in labels.items():
        if key not in good_keys or (isinstance(value, str) and value not in good_values):
            break
    else:
        return errs
    if len(good_keys) >= _GOOD_LABELS_MAX or len(good_values) >= _GOOD_LABELS_MAX:
        good_keys.clear()
        good_values.clear()
    for key in sorted(labels):
        value = labels[key]
        key_errs = is_qualified_name(key)
        for msg in key_errs:
            errs.append(invalid_value(path, key, msg))
        if not key_errs:
            good_keys.add(key)
        if not isinstance(value, str):
            continue
        value_errs = is_valid_label_value(value)
        for msg in value_errs:
            errs.append(invalid_value(path, value, msg))
        if not value_errs:
            good_values.add(value)
    return errs


def validate_annotations(annotations: Any, path: str) -> List[FieldError]:
    errs: List[FieldError] = []
    if not isinstance(annotations, dict):
        return errs
    total = 0
    for key in sorted(annotations):
        for msg in is_qualified_name(key.lower()):
            errs.append(invalid_value(path, key, msg))
        value = annotations[key]
        total += len(key.encode()) + len(str(value).encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def validate_finalizers(finalizers: Any, path: str) -> List[FieldError]:
    errs: List[FieldError] = []
    if not isinstance(finalizers, list):
        return errs
    has_orphan = has_foreground = False
    for f in finalizers:
        if not isinstance(f, str):
            continue
        for msg in is_qualified_name(f):
            errs.append(invalid_value(path, f, msg))
        has_orphan = has_orphan or f == "orphan"
        has_foreground = has_foreground or f == "foregroundDeletion"
    if has_orphan and has_foreground:
        errs.append(invalid_value(
            path, finalizers,
            "finalizer orphan and foregroundDeletion cannot be both set"))
    return errs


def validate_owner_references(refs: Any, path: str) -> List[FieldError]:
    errs: List[FieldError] = []
    if not isinstance(refs, list):
        return errs
    first_controller = ""
    for ref in refs:
        if not isinstance(ref, dict):
            continue
        api_version = ref.get("apiVersion") or ""
        kind = ref.get("kind") or ""
        if not _version_of(api_version):
            errs.append(invalid_value(f"{path}.apiVersion", api_version, "version must not be empty"))
        if not kind:
            errs.append(invalid_value(f"{path}.kind", kind, "must not be empty"))
        if not ref.get("name"):
            errs.append(invalid_value(f"{path}.name", ref.get("name") or "", "must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid_value(f"{path}.uid", ref.get("uid") or "", "must not be empty"))
        if api_version == "v1" and kind == "Event":
            errs.append(invalid_value(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            name = f"{kind}/{ref.get('name') or ''}"
            if first_controller:
                errs.append(invalid_value(
                    path, refs, "Only one reference can have Controller set to true. Found "
                    f'"true" in references for {first_controller} and {name}'))
            else:
                first_controller = name
    return errs


def _group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _version_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[-1]


def validate_object_meta(
    meta: Dict[str, Any],
    namespaced: bool,
    name_rule: NameRule,
    path: str = "metadata",
) -> List[FieldError]:
    """Go's C{ValidateObjectMetaAccessor} for a create (and the common part of an update)."""
    errs: List[FieldError] = []
    generate_name = meta.get("generateName") or ""
    if generate_name:
        for msg in name_rule(generate_name, True):
            errs.append(invalid_value(f"{path}.generateName", generate_name, msg))
    name = meta.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        for msg in name_rule(name, False):
            errs.append(invalid_value(f"{path}.name", name, msg))
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(required(f"{path}.namespace"))
        else:
            for msg in name_is_dns_label(namespace, False):
                errs.append(invalid_value(f"{path}.namespace", namespace, msg))
    elif namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        errs.append(invalid_value(f"{path}.generation", generation,
                                  "must be greater than or equal to 0"))
    # Each check finds nothing in a member that is absent (skipped here).
    labels = meta.get("labels")
    if labels is not None:
        errs.extend(validate_labels(labels, f"{path}.labels"))
    annotations = meta.get("annotations")
    if annotations is not None:
        errs.extend(validate_annotations(annotations, f"{path}.annotations"))
    refs = meta.get("ownerReferences")
    if refs is not None:
        errs.extend(validate_owner_references(refs, f"{path}.ownerReferences"))
    finalizers = meta.get("finalizers")
    if finalizers is not None:
        errs.extend(validate_finalizers(finalizers, f"{path}.finalizers"))
    return errs


def _immutable(new: Any, old: Any, path: str) -> Optional[FieldError]:
    if new != old:
        return invalid_value(path, new if new is not None else "", "field is immutable")
    return None


def validate_object_meta_update(
    new: Dict[str, Any], old: Dict[str, Any], path: str = "metadata"
) -> List[FieldError]:
    """Go's C{ValidateObjectMetaAccessorUpdate}: what an update may not change."""
    errs: List[FieldError] = []
    # Finalizers may not grow once deletion started.
    if old.get("deletionTimestamp"):
        old_f = set(old.get("finalizers") or ())
        added = sorted(set(new.get("finalizers") or ()) - old_f)
        if added:
            quoted = ", ".join(go_quote(f) for f in added)
            errs.append(forbidden(
                f"{path}.finalizers",
                f"no new finalizers can be added if the object is being deleted, "
                f"found new finalizers []string{{{quoted}}}"))
    # A generation may not go backwards.
    new_gen, old_gen = new.get("generation") or 0, old.get("generation") or 0
    if isinstance(new_gen, int) and isinstance(old_gen, int) and new_gen < old_gen:
        errs.append(invalid_value(f"{path}.generation", new_gen,
                                  "must not be decremented"))
    for field in ("name", "namespace", "uid", "creationTimestamp"):
        e = _immutable(new.get(field) or "", old.get(field) or "", f"{path}.{field}")
        if e is not None:
            errs.append(e)
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
        if new.get(field) != old.get(field):
            errs.append(invalid_value(f"{path}.{field}", new.get(field), "field is immutable"))
    return errs


def validate_field_manager(manager: str, path: str = "fieldManager") -> List[FieldError]:
    errs: List[FieldError] = []
    if len(manager) > _FIELD_MANAGER_MAX:
        errs.append(too_long(path, _FIELD_MANAGER_MAX))
    elif manager.isprintable():  # every character is: nothing to look for
        return errs
    for i, ch in enumerate(manager):
        if not ch.isprintable():
            errs.append(invalid_value(
                path, manager, f"invalid character U+{ord(ch):04X} (at position {i})"))
    return errs


def validate_dry_run(values: Iterable[str], path: str = "dryRun") -> List[FieldError]:
    """Only C{All} is a dry-run value kube-apiserver knows."""
    values = list(values)
    if any(v != "All" for v in values):
        return [not_supported(path, values, ["All"])]
    return []
