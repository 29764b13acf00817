"""
JSON Patch (RFC 6902), the C{application/json-patch+json} patch type, with the
limits and edge behaviour of kube-apiserver (which uses evanphx/json-patch v4).

Where kube-apiserver differs from the letter of the RFC, we answer as it does,
because clients were written against it:
  - at most 10,000 operations (L{MAX_OPERATIONS}); more is 413;
  - the values added by C{copy} operations may total at most 3 MiB of JSON
    (C{JSONPatchMaxCopyBytes}); more fails the patch (422);
  - array indexes are read like Go's C{strconv.Atoi} (C{01} and C{+1} are
    1), and negative ones count from the end (C{-1} is the last element);
  - C{replace} of a missing object member adds it;
  - a C{test} of a missing member (or of C{null}) succeeds only against
    C{null};
  - the whole-document pointer C{""} is not a valid target.

Every failure of an operation raises L{PatchError} (422); a body that is not a
list of objects raises L{PatchFormatError} (400).
"""

from __future__ import annotations

from typing import Any, Tuple, Union

from ._values import deep_copy, encoded_size, json_equal
from .errors import PatchError, PatchFormatError, PatchTooLargeError

__all__ = ["apply", "check", "MAX_OPERATIONS", "MAX_COPY_BYTES"]

#: kube-apiserver's C{maxJSONPatchOperations}.
MAX_OPERATIONS = 10000

#: kube-apiserver's default C{JSONPatchMaxCopyBytes} (3 MiB).
MAX_COPY_BYTES = 3 * 1024 * 1024

_MISSING = object()

Container = Union[dict, list]


def apply(
    doc: Any, operations: Any, max_copy_bytes: int = MAX_COPY_BYTES
) -> Any:
    """
    Apply the RFC 6902 C{operations} (the decoded patch body) to C{doc}.

    @return: a new document; C{doc} and C{operations} are left untouched and
        the result shares no mutable value with either.
    @raise PatchFormatError: C{operations} is not a list of objects.
    @raise PatchTooLargeError: more than L{MAX_OPERATIONS} operations.
    @raise PatchError: an operation failed (including a failed C{test}).
    """
    check(operations)
    result = deep_copy(doc)
    copied = 0
    for op in operations:
        kind = op.get("op")
        if kind == "add":
            _add(result, op)
        elif kind == "remove":
            _remove(result, op)
        elif kind == "replace":
            _replace(result, op)
        elif kind == "move":
            _move(result, op)
        elif kind == "copy":
            copied = _copy(result, op, copied, max_copy_bytes)
        elif kind == "test":
            _test(result, op)
        else:
            shown = kind if isinstance(kind, str) else "unknown"
            raise PatchError(f"Unexpected kind: {shown}")
    return result


def check(operations: Any) -> None:
    """
    Validate the shape and size of a decoded patch body without applying it.

    @raise PatchFormatError: not a list of JSON objects.
    @raise PatchTooLargeError: more than L{MAX_OPERATIONS} operations.
    """
    if not isinstance(operations, list):
        raise PatchFormatError(
            "json: cannot unmarshal "
            f"{_json_kind(operations)} into Go value of type jsonpatch.Patch"
        )
    for op in operations:
        if not isinstance(op, dict):
            raise PatchFormatError(
                "json: cannot unmarshal "
                f"{_json_kind(op)} into Go value of type jsonpatch.Operation"
            )
    if len(operations) > MAX_OPERATIONS:
        raise PatchTooLargeError(
            "Request entity too large: The allowed maximum operations in a "
            f"JSON patch is {MAX_OPERATIONS}, got {len(operations)}"
        )


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"


# -- JSON pointers ----------------------------------------------------------


def _pointer(op: dict, field: str, verb: str) -> str:
    value = op.get(field, _MISSING)
    if value is _MISSING or value is None:
        raise PatchError(f"{verb} operation, missing {field} field: missing value")
    if not isinstance(value, str):
        raise PatchError(
            f"{verb} operation failed to decode {field}: json: cannot unmarshal "
            f"{_json_kind(value)} into Go value of type string"
        )
    return value


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _parse_index(token: str) -> int:
    """An array index as Go's C{strconv.Atoi} reads it (sign allowed)."""
    body = token[1:] if token[:1] in ("+", "-") else token
    if not body or not body.isascii() or not body.isdigit():
        raise PatchError(
            f'strconv.Atoi: parsing "{token}": invalid syntax'
        )
    return int(token)


def _locate(doc: Any, path: str) -> Tuple[Container, str]:
    """
    The container holding the value C{path} points to, and the (unescaped)
    last token. Fails like evanphx/json-patch's C{findObject}.
    """
    if not path.startswith("/"):
        raise _missing_path(path)
    tokens = path.split("/")[1:]
    current = doc
    for raw in tokens[:-1]:
        token = _unescape(raw)
        if isinstance(current, dict):
            current = current.get(token)
        elif isinstance(current, list):
            try:
                index = _parse_index(token)
            except PatchError:
                raise _missing_path(path) from None
            if index < 0 or index >= len(current):
                raise _missing_path(path)
            current = current[index]
        else:
            raise _missing_path(path)
        if not isinstance(current, (dict, list)):
            raise _missing_path(path)
    if not isinstance(current, (dict, list)):
        raise _missing_path(path)
    return current, _unescape(tokens[-1])


class _MissingPath(PatchError):
    pass


def _missing_path(path: str) -> PatchError:
    return _MissingPath(path)


def _reword(error: PatchError, verb: str, path: str, what: str = "path") -> PatchError:
    if isinstance(error, _MissingPath):
        return PatchError(
            f'{verb} operation does not apply: doc is missing {what}: "{path}": '
            "missing value"
        )
    return error


def _find(doc: Any, path: str, verb: str, what: str = "path") -> Tuple[Container, str]:
    try:
        return _locate(doc, path)
    except PatchError as e:
        raise _reword(e, verb, path, what) from None


# -- container primitives ---------------------------------------------------


def _get(container: Container, key: str, verb: str, path: str) -> Any:
    """The value at C{key}, or L{_MISSING} for an absent object member."""
    if isinstance(container, dict):
        return container.get(key, _MISSING)
    index = _array_index(key, verb, path)
    if index < 0 or index >= len(container):
        raise PatchError(
            f"error in {verb} for path: '{path}': Unable to access invalid "
            f"index: {index}: invalid index referenced"
        )
    return container[index]


def _array_index(key: str, verb: str, path: str) -> int:
    try:
        return _parse_index(key)
    except PatchError as e:
        raise PatchError(
            f"error in {verb} for path: '{path}': value was not a proper array "
            f"index: '{key}': {e.message}"
        ) from None


def _insert(container: Container, key: str, value: Any, verb: str, path: str) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if key == "-":
        container.append(value)
        return
    index = _array_index(key, verb, path)
    size = len(container) + 1
    if index >= size or index < -size:
        raise PatchError(
            f"error in {verb} for path: '{path}': Unable to access invalid "
            f"index: {index}: invalid index referenced"
        )
    if index < 0:
        index += size
    container.insert(index, value)


def _delete(container: Container, key: str, verb: str, path: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise PatchError(
                f"error in {verb} for path: '{path}': Unable to remove "
                f"nonexistent key: {key}: missing value"
            )
        return container.pop(key)
    index = _array_index(key, verb, path)
    if index >= len(container) or index < -len(container):
        raise PatchError(
            f"error in {verb} for path: '{path}': Unable to access invalid "
            f"index: {index}: invalid index referenced"
        )
    return container.pop(index)


def _value(op: dict) -> Any:
    """The operation's value, copied so the result never aliases the patch."""
    return deep_copy(op.get("value"))


# -- operations -------------------------------------------------------------


def _add(doc: Any, op: dict) -> None:
    path = _pointer(op, "path", "add")
    container, key = _find(doc, path, "add")
    _insert(container, key, _value(op), "add", path)


def _remove(doc: Any, op: dict) -> None:
    path = _pointer(op, "path", "remove")
    container, key = _find(doc, path, "remove")
    _delete(container, key, "remove", path)


def _replace(doc: Any, op: dict) -> None:
    path = _pointer(op, "path", "replace")
    container, key = _find(doc, path, "replace")
    if isinstance(container, dict):
        container[key] = _value(op)
        return
    index = _array_index(key, "replace", path)
    if index < 0 or index >= len(container):
        raise PatchError(
            f"replace operation does not apply: doc is missing key: {path}: "
            "missing value"
        )
    container[index] = _value(op)


def _move(doc: Any, op: dict) -> None:
    source = _pointer(op, "from", "move")
    container, key = _find(doc, source, "move", "from path")
    value = _delete(container, key, "move", source)
    path = _pointer(op, "path", "move")
    container, key = _find(doc, path, "move", "destination path")
    _insert(container, key, value, "move", path)


def _copy(doc: Any, op: dict, copied: int, limit: int) -> int:
    source = _pointer(op, "from", "copy")
    container, key = _find(doc, source, "copy", "from path")
    value = _get(container, key, "copy", source)
    if value is _MISSING:
        raise PatchError(
            f'copy operation does not apply: doc is missing from path: "{source}": '
            "missing value"
        )
    path = _pointer(op, "path", "copy")
    container, key = _find(doc, path, "copy", "destination path")
    copied += encoded_size(value)
    if limit > 0 and copied > limit:
        raise PatchError(
            "Unable to complete the copy, the accumulated size increase of copy "
            f"is {copied}, exceeding the limit {limit}"
        )
    _insert(container, key, deep_copy(value), "copy", path)
    return copied


def _test(doc: Any, op: dict) -> None:
    path = _pointer(op, "path", "test")
    container, key = _find(doc, path, "test")
    actual = _get(container, key, "test", path)
    expected = op.get("value")
    if actual is _MISSING or actual is None:
        if expected is None:
            return
    elif expected is not None and json_equal(actual, expected):
        return
    raise PatchError(f"testing value {path} failed: test failed")

