"""
The generic store: one L{IResourceStore} per resource, turning API verbs into
storage calls the way kube-apiserver's C{registry/generic/registry/store.go}
does: metadata rules and validation before a write, optimistic concurrency
through the storage's compare-and-swap, selectors and pagination on lists,
watches with kube's cacher semantics (see L{kapi_twisted.registry._watch}).

Objects are stored as the client wrote them (after pruning, defaulting of
system fields and validation). Several versions of one resource can share
one etcd prefix (autoscaling/v1 and v2 HorizontalPodAutoscalers, core and
events.k8s.io Events); a read presents the object in the requested version
(L{kapi_twisted.registry._convert}), and selectors see that presentation.
"""

from __future__ import annotations

import copy
import datetime
import random
from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred, fail, inlineCallbacks, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from kapi_twisted import apierrors
from kapi_twisted._randomid import random_uuid
from kapi_twisted.admission.interface import CREATE, DELETE, Attributes
from kapi_twisted.apierrors import APIError
from kapi_twisted.apis.registry import ResourceInfo, all_resources
from kapi_twisted.server.storage_errors import storage_error_to_api
from kapi_twisted.storage import interface as st

from . import _convert, _encoding, _options
from . import validation as v
from ._watch import WatchDispatcher
from ._encoding import copy_json
from .continuetoken import InvalidToken, decode_continue, encode_continue
from .fieldselectors import field_set_for, parse_field_selector
from .interface import (
    IGNORE,
    STRICT,
    DeleteOptions,
    DeleteResult,
    GetOptions,
    IResourceStore,
    ListOptions,
    ListPage,
    RequestContext,
    WriteOptions,
    WriteResult,
)
from .keys import DEFAULT_PREFIX, KeyLayout
from .selectors import parse_label_selector
from .strategy import Strategy, strategy_for

__all__ = ["GenericStore", "build_stores", "Predicate", "then"]

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATED_BASE = 58
_GENERATE_ATTEMPTS = 8
_LIST_EXPIRED = "The resourceVersion for the provided list is too old."
_CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue token "
    "in this response to retrieve the remainder of the results. Continuing with the "
    "provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may "
    "show up in the list."
)
_MAX_WRITE_ATTEMPTS = 16


class ListExpired(APIError):
    """410 Expired whose Status carries a fresh (inconsistent) continue token."""

    def __init__(self, message: str, continue_token: str = "") -> None:
        super().__init__(410, apierrors.EXPIRED, message)
        self.continue_token = continue_token

    def status(self) -> dict:
        status = super().status()
        if self.continue_token:
            status["metadata"] = {"continue": self.continue_token}
        return status


class _Peek(Exception):
    """Carries the state L{IStorage.guaranteed_update} offered, unchanged."""

    def __init__(self, current: Any) -> None:
        self.current = current


def _peek(current: Any) -> Any:
    raise _Peek(current)


class _EmptiedFinalizers(Exception):
    """An update removed the last finalizer of a deleting object: delete it instead."""

    def __init__(self, obj: Dict[str, Any]) -> None:
        self.obj = obj


def then(value: Any, step: Callable[..., Any], *args: Any) -> Any:
    """
    C{step(result, *args)}: called now when C{value} is a plain value or a
    Deferred that has already succeeded, else added as its callback.

    Most steps of a request (a strategy with nothing to wait for, admission
    over a cached namespace) decide at once; taking their result directly
    skips a Deferred callback round (and its frames) per step. A failed or
    pending Deferred is chained as usual, so errors still travel as
    Failures. Callers turn what a synchronous step raises into a failed
    Deferred themselves.
    """
    if isinstance(value, Deferred):
        if _succeeded(value):
            return step(value.result, *args)
        return value.addCallback(step, *args)
    return step(value, *args)


def _reserved(txn: Any, write: Callable[..., Deferred], *args: Any) -> Deferred:
    """
    C{write(*args)}, with what C{txn} (a strategy's C{begin_create} or
    C{begin_update}) reserved committed when the write succeeds and reverted
    when it fails, at once or later. C{txn} None: the write alone.
    """
    if txn is None:
        return write(*args)
    try:
        d = write(*args)
    except BaseException:
        txn.revert()
        raise
    return d.addCallbacks(_commit, _revert, callbackArgs=(txn,), errbackArgs=(txn,))


def _commit(result: Any, txn: Any) -> Any:
    txn.commit()
    return result


def _revert(failure: Failure, txn: Any) -> Failure:
    txn.revert()
    return failure


def _succeeded(d: Deferred) -> bool:
    """
    C{d} has fired with a result that is not a failure, and its callbacks
    have run (a fired Deferred that is not paused has emptied its callback
    list; the C{callbacks} attribute itself warns as deprecated when read).
    """
    return d.called and not d.paused and not isinstance(d.result, (Failure, Deferred))


def rfc3339(seconds: float) -> str:
    """A timestamp as kube writes C{metav1.Time}: UTC, whole seconds."""
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_META_STRINGS = ("name", "generateName", "namespace", "uid", "resourceVersion", "selfLink",
                 "creationTimestamp", "deletionTimestamp")


def _metadata_type_error(meta: Any, kind: str) -> str:
    """Go's decoding error for metadata of the wrong JSON types, or ""."""
    def bad(value: Any, path: str, go_type: str, struct: str = "ObjectMeta") -> str:
        return (f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                f"{struct}.{path} of type {go_type}")

    if meta is None:
        return ""
    if not isinstance(meta, dict):
        return bad(meta, "metadata", "v1.ObjectMeta", kind)
    for field in _META_STRINGS:
        value = meta.get(field)
        if value is not None and not isinstance(value, str):
            return bad(value, f"metadata.{field}", "string")
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is None:
            continue
        if not isinstance(value, dict):
            return bad(value, f"metadata.{field}", "map[string]string")
        for item in value.values():
            if item is not None and not isinstance(item, str):
                return bad(item, f"metadata.{field}", "string")
    finalizers = meta.get("finalizers")
    if finalizers is not None:
        if not isinstance(finalizers, list):
            return bad(finalizers, "metadata.finalizers", "[]string")
        for item in finalizers:
            if item is not None and not isinstance(item, str):
                return bad(item, "metadata.finalizers", "string")
    refs = meta.get("ownerReferences")
    if refs is not None:
        if not isinstance(refs, list):
            return bad(refs, "metadata.ownerReferences", "[]v1.OwnerReference")
        for ref in refs:
            if ref is not None and not isinstance(ref, dict):
                return bad(ref, "metadata.ownerReferences", "v1.OwnerReference")
    for field in ("generation", "deletionGracePeriodSeconds"):
        value = meta.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return bad(value, f"metadata.{field}", "int64")
    return ""


def _zero_metadata_nulls(meta: Dict[str, Any]) -> None:
    """
    What Go's decoding makes of a JSON null inside metadata's maps and
    lists (the zero value: a label, annotation or finalizer "", an empty
    owner reference), so that it is validated, stored and answered as
    kube-apiserver would.
    """
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if isinstance(values, dict) and None in values.values():
            meta[field] = {k: "" if v is None else v for k, v in values.items()}
    finalizers = meta.get("finalizers")
    if isinstance(finalizers, list) and None in finalizers:
        meta["finalizers"] = ["" if f is None else f for f in finalizers]
    refs = meta.get("ownerReferences")
    if isinstance(refs, list) and None in refs:
        meta["ownerReferences"] = [{} if r is None else r for r in refs]


#: The fields each subresource writes ("a.b" paths).
_SUBRESOURCE_FIELDS = {
    "status": ("status",),
    "finalize": ("spec.finalizers",),
    "ephemeralcontainers": ("spec.ephemeralContainers",),
}


def _merge_subresource(subresource: str, body: Dict[str, Any],
                       old: Dict[str, Any]) -> Dict[str, Any]:
    """C{old} with the fields C{subresource} owns taken from C{body}."""
    new = copy.deepcopy(old)
    if subresource == "resize":
        wanted = {c.get("name"): c for c in ((body.get("spec") or {}).get("containers") or ())
                  if isinstance(c, dict)}
        for c in (new.get("spec") or {}).get("containers") or ():
            given = wanted.get(c.get("name"))
            if given is None:
                continue
            for field in ("resources", "resizePolicy"):
                if field in given:
                    c[field] = copy.deepcopy(given[field])
                else:
                    c.pop(field, None)
        return new
    for path in _SUBRESOURCE_FIELDS.get(subresource, ()):
        parts = path.split(".")
        src: Any = body
        for p in parts[:-1]:
            src = src.get(p) if isinstance(src, dict) else None
        value = src.get(parts[-1]) if isinstance(src, dict) else None
        dst = new
        for p in parts[:-1]:
            dst = dst.setdefault(p, {})
        if value is None:
            dst.pop(parts[-1], None)
        else:
            dst[parts[-1]] = copy.deepcopy(value)
    return new


_NAME_PAIRS = [a + b for a in _NAME_CHARS for b in _NAME_CHARS]
_PAIRS = len(_NAME_PAIRS)
_FOURTH = _PAIRS * _PAIRS
_NAME_SPACE = _FOURTH * len(_NAME_CHARS)


def _generate_name(base: str) -> str:
    """
    C{base} (cut to 58) and five characters drawn uniformly from kube's
    alphabet, as kube's C{SimpleNameGenerator}: the base-27 digits of one
    random number (a quarter of C{random.choices}' cost per create).
    """
    n = int(random.random() * _NAME_SPACE)
    pairs = _NAME_PAIRS
    return (base[:_MAX_GENERATED_BASE] + pairs[n % _PAIRS] + pairs[n // _PAIRS % _PAIRS]
            + _NAME_CHARS[n // _FOURTH])


class Predicate:
    """Label and field selectors of one request, matched against parsed objects."""

    def __init__(self, info: ResourceInfo, label_selector: str, field_selector: str) -> None:
        self.labels = parse_label_selector(label_selector)
        self.field_set = field_set_for(info)
        self.fields = parse_field_selector(field_selector, self.field_set)

    @property
    def empty(self) -> bool:
        return self.labels.empty and self.fields.empty

    def matches(self, obj: Dict[str, Any]) -> bool:
        if not self.labels.empty:
            if not self.labels.matches((obj.get("metadata") or {}).get("labels")):
                return False
        if not self.fields.empty:
            if not self.fields.matches(self.field_set.fields(obj)):
                return False
        return True


def report_field_problems(info: Any, texts: List[str], options: Any,
                          ctx: RequestContext) -> None:
    """
    What C{fieldValidation} does with decoding problems (unknown or repeated
    fields): C{Strict} answers 400, C{Warn} (the default) adds warnings,
    C{Ignore} drops them.
    """
    if not texts:
        return
    mode = getattr(options, "field_validation", "") or "Warn"
    if mode == STRICT:
        raise apierrors.bad_request(
            f'{info.kind} in version "{info.version}" cannot be handled as a '
            f"{info.kind}: strict decoding error: " + ", ".join(texts))
    if mode != IGNORE:
        ctx.warnings.extend(t for t in texts if t not in ctx.warnings)


@implementer(IResourceStore)
class GenericStore:
    """
    The store of one resource over an L{st.IStorage}.

    @param info: the resource.
    @param storage: the storage (usually the watch cache over a backend).
    @param strategy: the kind's behaviour (L{strategy_for} picks the default).
    @param clock: an C{IReactorTime} (for timestamps and bookmark timers).
    @param prefix: the C{--etcd-prefix} the keys live under.
    """

    def __init__(
        self,
        info: ResourceInfo,
        storage: Any,
        strategy: Optional[Strategy] = None,
        clock: Any = None,
        prefix: str = DEFAULT_PREFIX,
        shared_prefix: bool = False,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor as clock  # type: ignore[no-redef]
        self.info = info
        self.storage = storage
        self.strategy = strategy if strategy is not None else strategy_for(info)
        self.clock = clock
        self.keys = KeyLayout(info, prefix)
        self._shared_prefix = shared_prefix
        self._watches = WatchDispatcher(self, clock)
        #: Admission (L{kapi_twisted.admission.IAdmission}) run on creates and deletes.
        self.admission: Any = None

    #: The last timestamp written, by whole second.
    _now_cache: Tuple[int, str] = (-1, "")

    # -- small helpers --------------------------------------------------------------

    @property
    def returns_deleted_object(self) -> bool:
        """A finished DELETE answers with the object rather than a success Status."""
        return self.strategy.returns_deleted_object

    def _now(self) -> str:
        seconds = int(self.clock.seconds())
        if seconds != self._now_cache[0]:
            # strftime is a good part of a small write: once a second is enough.
            self._now_cache = (seconds, rfc3339(seconds))
        return self._now_cache[1]

    def _not_found(self, name: str) -> APIError:
        return apierrors.not_found(self.info.plural, name, self.info.group)

    def _conflict(self, name: str, text: str = apierrors.OBJECT_MODIFIED) -> APIError:
        return apierrors.conflict(self.info.plural, name, text, self.info.group)

    def _invalid(self, name: str, errs: List[v.FieldError]) -> APIError:
        return v.invalid(self.info.kind, name, errs, self.info.group)

    def present(self, kv: Any) -> Any:
        """C{kv} as this version shows it (see L{kapi_twisted.registry._convert})."""
        if kv is None or not self._shared_prefix:
            return kv
        obj = kv.object
        if obj.get("apiVersion") == self.info.group_version:
            return kv
        obj = _convert.convert(obj, self.info.group_version)
        return st.KeyValue(kv.key, _encoding.encode(obj), kv.mod_revision, kv.create_revision)

    def _storage_error(self, error: st.StorageError, name: str = "") -> APIError:
        if isinstance(error, st.KeyNotFoundError):
            return self._not_found(name)
        if isinstance(error, st.KeyExistsError):
            return apierrors.already_exists(self.info.plural, name, self.info.group)
        if isinstance(error, st.ConflictError):
            return self._conflict(name)
        if isinstance(error, st.CompactedError):
            return apierrors.expired(_LIST_EXPIRED)
        return storage_error_to_api(error)

    def _latest(self, key: str):
        """
        The key's newest decided state. A plain C{get} shows only committed
        writes; a compare-and-swap checks against writes still committing
        (the SQLite backend commits at the end of the reactor turn), so a
        read-modify-write must start from what C{guaranteed_update} sees.
        """
        d = self.storage.guaranteed_update(key, _peek)

        def peeked(failure):
            failure.trap(_Peek)
            return failure.value.current

        return d.addCallbacks(lambda kv: kv, peeked)

    def _check_type(self, obj: Any) -> None:
        info = self.info
        if not isinstance(obj, dict):
            raise apierrors.bad_request(
                f"the object provided is unrecognized (must be of type {info.kind})")
        kind = obj.get("kind") or info.kind
        api_version = obj.get("apiVersion") or info.group_version
        version = api_version.rsplit("/", 1)[-1]
        if kind != info.kind:
            group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
            internal = (group.split(".")[0] if group else "core")
            raise apierrors.bad_request(
                f'{kind} in version "{version}" cannot be handled as a {info.kind}: '
                f"converting ({version}.{kind}) to ({internal}.{info.kind}): unknown conversion")
        if api_version != info.group_version:
            raise apierrors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({info.group_version})")
        problem = _metadata_type_error(obj.get("metadata"), info.kind)
        if problem:
            raise apierrors.bad_request(
                f'{kind} in version "{version}" cannot be handled as a {info.kind}: {problem}')

    def _field_validation(self, ctx: RequestContext, obj: Dict[str, Any],
                          options: WriteOptions) -> None:
        """Report (Strict: 400; Warn: warnings) and prune fields the schema does not know."""
        unknown = self._prune_unknown(obj)
        report_field_problems(
            self.info, [f'unknown field "{path}"' for path in unknown], options, ctx)

    def _prune_unknown(self, obj: Dict[str, Any]) -> List[str]:
        """Drop the fields the schema does not know; return their paths."""
        info = self.info
        return _encoding.prune(info.group, info.version, info.kind, obj)

    # -- get -----------------------------------------------------------------------

    def get(self, ctx: RequestContext, namespace: str, name: str,
            options: Optional[GetOptions] = None):
        read = self.storage.get
        if options is not None and options.resource_version:
            rv = _options.parse_resource_version(options.resource_version)
            if rv == 0:  # "any": kube answers from the watch cache
                read = getattr(self.storage, "get_cached", read)
        d = read(self.keys.key(namespace, name))
        if not self._shared_prefix:
            # present() changes nothing here: a read the cache answered at
            # once (the namespace look-up of every create's admission) is
            # handed back as it is, without a callback round.
            return d if _succeeded(d) else d.addErrback(self._read_failed, name)
        return d.addCallbacks(self.present, self._read_failed, errbackArgs=(name,))

    def peek_cached(self, namespace: str, name: str) -> Optional[st.KeyValue]:
        """
        The object as the watch cache holds it, at once: what C{get} with
        C{resourceVersion=0} answers, for callers that look an object up on
        every request (admission's namespace check). None when that answer
        takes more (not cached, missing, or shown in another version): ask
        C{get}.
        """
        peek = getattr(self.storage, "peek", None)
        if peek is None or self._shared_prefix:
            return None
        return peek(self.keys.key(namespace, name))

    def _read_failed(self, failure: Failure, name: str) -> Any:
        failure.trap(st.StorageError)
        raise self._storage_error(failure.value, name)

    # -- list ----------------------------------------------------------------------

    @inlineCallbacks
    def list(self, ctx: RequestContext, namespace: str, options: ListOptions):
        _options.validate_list_options(options)
        predicate = Predicate(self.info, options.label_selector, options.field_selector)
        prefix = self.keys.list_prefix(namespace)
        rv = _options.parse_resource_version(options.resource_version)
        limit = max(int(options.limit or 0), 0)
        start_key: Optional[str] = None
        revision: Optional[int]
        from_continue = False
        if options.continue_token:
            if rv not in (None, 0):
                raise apierrors.bad_request(
                    "specifying resource version is not allowed when using continue")
            try:
                start_key, token_rv = decode_continue(options.continue_token, prefix)
            except InvalidToken as e:
                raise apierrors.bad_request(f"invalid continue token: {e}")
            revision = token_rv if token_rv > 0 else None
            from_continue = token_rv > 0
        elif rv is None:
            revision = None
        elif rv == 0:
            revision = 0
        elif options.resource_version_match == _options.EXACT or (
                limit and not options.resource_version_match):
            revision = rv
        else:
            # Not older than rv: the newest state, once the store has reached rv.
            current = yield self.storage.current_revision()
            revision = rv if rv > current else None
        try:
            page = yield self._list_pages(prefix, revision, limit, start_key, predicate,
                                          self.scan_prefix(namespace, predicate))
        except st.CompactedError:
            if from_continue:
                token = encode_continue(start_key or prefix, prefix, -1)
                raise ListExpired(_CONTINUE_EXPIRED, token)
            raise apierrors.expired(_LIST_EXPIRED)
        except st.StorageError as e:
            raise self._storage_error(e)
        return page

    @inlineCallbacks
    def _list_pages(self, prefix: str, revision: Optional[int], limit: int,
                    start_key: Optional[str], predicate: Predicate, scan: str = ""):
        """
        Read pages at one revision until C{limit} items match (or none remain).
        C{scan} narrows the keys read (a name or namespace the selector demands);
        tokens stay relative to the collection's C{prefix}.
        """
        scan = scan or prefix
        items: List[Any] = []
        filtering = not predicate.empty
        present = self.present if self._shared_prefix else None
        while True:
            want = limit - len(items) if limit else 0
            result = yield self.storage.list(scan, revision, want, start_key)
            # Later pages come from the same snapshot.
            revision = result.revision
            batch = result.items
            if present is not None:
                batch = [present(kv) for kv in batch]
            if filtering:
                batch = [kv for kv in batch if predicate.matches(kv.object)]
            items.extend(batch)
            if not result.more or not result.items:
                more = result.more and bool(result.items)
                break
            start_key = result.items[-1].key + "\x00"
            if not limit or len(items) >= limit:
                more = True
                break
        token = ""
        remaining = None
        if more:
            token = encode_continue(start_key or prefix, prefix, revision)
            if not filtering and result.remaining:
                remaining = result.remaining
        return ListPage(items, str(revision), token, remaining)

    def scan_prefix(self, namespace: str, predicate: Predicate) -> str:
        """
        The narrowest key prefix holding everything C{predicate} can match:
        one object's key for C{metadata.name=x} (kubectl wait/delete), one
        namespace for C{metadata.namespace=x}, else the collection.
        """
        fields = predicate.fields
        if not fields.empty:
            if self.info.namespaced and not namespace:
                wanted_ns = fields.requires_exact("metadata.namespace")
                if wanted_ns and not v.name_is_dns_label(wanted_ns, False):
                    namespace = wanted_ns
            name = fields.requires_exact("metadata.name")
            if name and (namespace or not self.info.namespaced) and "/" not in name:
                return self.keys.key(namespace, name)
        return self.keys.list_prefix(namespace)

    # -- watch ---------------------------------------------------------------------

    def watch(self, ctx: RequestContext, namespace: str, options: ListOptions,
              send: Callable[[Any], Any]):
        return self._watches.watch(namespace, options, send)

    # -- create --------------------------------------------------------------------

    def _prepare_create(self, ctx: RequestContext, namespace: str, body: Dict[str, Any],
                        options: WriteOptions, context: Any = None,
                        owned: bool = False) -> Dict[str, Any]:
        """
        The object a create of C{body} stores, before admission and
        validation: a copy of C{body}, or C{body} itself changed in place
        when the caller C{owned} it (see L{RequestContext.body_owned}).
        """
        self._check_type(body)
        obj = body if owned else copy_json(body)
        self._field_validation(ctx, obj, options)
        obj["apiVersion"] = self.info.group_version
        obj["kind"] = self.info.kind
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        _zero_metadata_nulls(meta)
        expected_ns = namespace if self.info.namespaced else ""
        body_ns = meta.get("namespace") or ""
        if body_ns != expected_ns:
            if body_ns and expected_ns:
                raise apierrors.bad_request(
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request")
            if expected_ns:
                meta["namespace"] = expected_ns
            else:
                meta.pop("namespace", None)
        if meta.get("resourceVersion"):
            raise apierrors.bad_request(
                "resourceVersion should not be set on objects to be created")
        meta.pop("resourceVersion", None)
        meta.pop("deletionTimestamp", None)
        meta.pop("deletionGracePeriodSeconds", None)
        meta.pop("selfLink", None)
        meta["uid"] = random_uuid()
        meta["creationTimestamp"] = self._now()
        if self.strategy.uses_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        self.strategy.prepare_for_create(obj, context)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = _generate_name(meta["generateName"])
        return obj

    def _validate_create(self, obj: Dict[str, Any]) -> None:
        meta = obj["metadata"]
        errs = v.validate_object_meta(meta, self.info.namespaced, self.strategy.name_rule)
        errs.extend(self.strategy.validate(obj))
        if errs:
            raise self._invalid(meta.get("name") or "", errs)

    def create(self, ctx: RequestContext, namespace: str, obj: Dict[str, Any],
               options: WriteOptions) -> Deferred:
        """
        Create C{obj}: options, the strategy's wait and look-ups, metadata
        rules, admission, reservations (Service IPs), validation, the write.

        Plain callbacks rather than C{inlineCallbacks}: every step but the
        storage write usually decides at once (see L{then}), and the generator
        machinery was a measurable share of a create's CPU.
        """
        try:
            _options.validate_write_options(options, "CreateOptions")
            result = then(self.strategy.before_write(self), self._create_ready,
                          ctx, namespace, obj, options)
        except BaseException:
            return fail()
        return result if isinstance(result, Deferred) else succeed(result)

    def _create_ready(self, _: Any, ctx: RequestContext, namespace: str,
                      obj: Dict[str, Any], options: WriteOptions) -> Any:
        return then(self.strategy.create_context(self, namespace, obj), self._create_admit,
                    ctx, namespace, obj, options)

    def _create_admit(self, context: Any, ctx: RequestContext, namespace: str,
                      obj: Dict[str, Any], options: WriteOptions) -> Any:
        # The names the client sent, read before an owned body becomes the new object.
        body_meta = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(body_meta, dict):
            given = body_meta.get("name")
            generate = body_meta.get("generateName")
        else:
            given = generate = None
        new = self._prepare_create(ctx, namespace, obj, options, context=context,
                                   owned=ctx.body_owned)
        if self.admission is None:
            return self._create_admitted(None, namespace, given, new, options)
        admitted = self.admission.admit(Attributes(
            CREATE, self.info, namespace, given or generate or "", new,
            ctx.user, options.dry_run))
        return then(admitted, self._create_admitted, namespace, given, new, options)

    def _create_admitted(self, _: Any, namespace: str, given: Optional[str],
                         new: Dict[str, Any], options: WriteOptions) -> Any:
        # What the create reserves besides the object (Service IPs), undone if it fails.
        txn = self.strategy.begin_create(new, options.dry_run)
        return _reserved(txn, self._store_new, namespace, given, new, options)

    def _store_new(self, namespace: str, given: Optional[str], new: Dict[str, Any],
                   options: WriteOptions):
        """
        Validate and write a prepared new object (a fresh name when generated
        names clash; C{given}: the name the client sent, if any).
        """
        self._validate_create(new)
        meta = new["metadata"]
        key = self.keys.key(namespace, meta["name"])
        if options.dry_run:
            d = self.storage.get(key)

            def found(_):
                return self._store_new_retry(namespace, given, new, options)

            def missing(f):
                f.trap(st.KeyNotFoundError)
                return WriteResult(object=_encoding.ordered(new), created=True)

            return d.addCallbacks(found, missing)
        # The encoded copy goes to storage too: watchers and informers get it
        # instead of decoding the stored bytes again (about 3% of a create).
        value, parsed = _encoding.encode_for_storage(new)
        d = self.storage.create(key, value, parsed)

        def failed(f):
            f.trap(st.StorageError)
            if isinstance(f.value, st.KeyExistsError):
                return self._store_new_retry(namespace, given, new, options)
            raise self._storage_error(f.value, meta["name"])

        return d.addCallbacks(lambda kv: WriteResult(kv=kv, created=True), failed)

    @inlineCallbacks
    def _store_new_retry(self, namespace: str, given: Optional[str], new: Dict[str, Any],
                         options: WriteOptions):
        """The name is taken: generated names try again; otherwise 409."""
        meta = new["metadata"]
        generated = not given and bool(meta.get("generateName"))
        attempts = _GENERATE_ATTEMPTS if generated else 1
        for attempt in range(1, attempts):
            meta["name"] = _generate_name(meta["generateName"])
            key = self.keys.key(namespace, meta["name"])
            if options.dry_run:
                try:
                    yield self.storage.get(key)
                except st.KeyNotFoundError:
                    return WriteResult(object=_encoding.ordered(new), created=True)
            else:
                try:
                    kv = yield self.storage.create(key, _encoding.encode(new))
                except st.KeyExistsError:
                    pass
                except st.StorageError as e:
                    raise self._storage_error(e, meta["name"])
                else:
                    return WriteResult(kv=kv, created=True)
        err = apierrors.already_exists(self.info.plural, meta["name"], self.info.group)
        if generated:
            err.message += ", the server was not able to generate a unique name for the object"
            err.details["retryAfterSeconds"] = 1
        try:
            existing = yield self.storage.get(self.keys.key(namespace, meta["name"]))
        except st.StorageError:
            pass
        else:
            if (existing.object.get("metadata") or {}).get("deletionTimestamp"):
                err.message = f"object is being deleted: {err.message}"
        raise err

    # -- update and patch ------------------------------------------------------------

    def _check_update_body(self, namespace: str, name: str, obj: Any) -> None:
        self._check_type(obj)
        meta = obj.get("metadata") or {}
        body_name = meta.get("name") or ""
        if body_name != name:
            raise apierrors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})")
        body_ns = meta.get("namespace") or ""
        if self.info.namespaced and namespace and body_ns and body_ns != namespace:
            raise apierrors.bad_request(
                f"the namespace of the object ({body_ns}) does not match the namespace on "
                f"the request ({namespace})")

    def _updated(self, ctx: RequestContext, namespace: str, name: str, cur: st.KeyValue,
                 body: Dict[str, Any], options: WriteOptions,
                 subresource: str) -> Optional[Dict[str, Any]]:
        """
        The object an update of C{cur} to C{body} stores, or None when nothing
        changes. Raises APIError (conflict, invalid...) or L{_EmptiedFinalizers}.
        """
        old = self.present(cur).object
        new = copy.deepcopy(body)
        new["apiVersion"] = self.info.group_version
        new["kind"] = self.info.kind
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        _zero_metadata_nulls(meta)
        old_meta = old.get("metadata") or {}
        wanted_rv = meta.get("resourceVersion") or ""
        if wanted_rv and wanted_rv != old_meta.get("resourceVersion"):
            raise self._conflict(name)
        if not wanted_rv and not self.strategy.allow_unconditional_update:
            # kube names the resource where the kind belongs here.
            raise v.invalid(self.info.plural, name, [v.invalid_value(
                "metadata.resourceVersion", 0, "must be specified for an update")],
                self.info.group)
        if self.info.namespaced and not meta.get("namespace"):
            meta["namespace"] = namespace
        if not self.info.namespaced:
            meta.pop("namespace", None)
        has_status = self.strategy.has_status
        if subresource:
            # A subresource write changes its own fields; the rest comes from storage.
            managed = meta.get("managedFields")
            new = _merge_subresource(subresource, new, old)
            new["apiVersion"] = self.info.group_version
            meta = new["metadata"]
            if managed is not None:
                meta["managedFields"] = managed
            if subresource == "status":
                self.strategy.prepare_for_status_update(new, old)
        else:
            if has_status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            self.strategy.prepare_for_update(new, old)
        # As kube's BeforeUpdate: uid filled in when missing, timestamps kept.
        if not meta.get("uid") and "uid" in old_meta:
            meta["uid"] = old_meta["uid"]
        for field in ("creationTimestamp", "deletionTimestamp"):
            if old_meta.get(field):
                meta[field] = old_meta[field]
        if old_meta.get("deletionGracePeriodSeconds") is not None and \
                meta.get("deletionGracePeriodSeconds") is None:
            meta["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]
        if "generation" in old_meta:
            meta["generation"] = old_meta["generation"]
        else:
            meta.pop("generation", None)
        if (not subresource and self.strategy.uses_generation
                and self.strategy.generation_changed(new, old)):
            meta["generation"] = (old_meta.get("generation") or 0) + 1
        errs = v.validate_object_meta(meta, self.info.namespaced, self.strategy.name_rule)
        errs.extend(v.validate_object_meta_update(meta, old_meta))
        if not subresource:
            errs.extend(self.strategy.validate(new))
            errs.extend(self.strategy.validate_update(new, old))
        if errs:
            raise self._invalid(name, errs)
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        if new == old:
            return None
        if self.strategy.should_delete_during_update(new, old):
            raise _EmptiedFinalizers(new)
        return new

    @inlineCallbacks
    def _write_loop(self, ctx: RequestContext, namespace: str, name: str,
                    make_body: Callable[[st.KeyValue], Dict[str, Any]],
                    options: WriteOptions, subresource: str, create_body: Any = None):
        """Read, compute, compare-and-swap; again on conflict."""
        key = self.keys.key(namespace, name)
        if not subresource:
            ready = self.strategy.before_write(self)
            if ready is not None:
                yield ready
        for _ in range(_MAX_WRITE_ATTEMPTS):
            try:
                cur = yield self._latest(key)
            except st.KeyNotFoundError:
                if create_body is not None and self.strategy.allow_create_on_update:
                    result = yield self._create_on_update(ctx, namespace, name, create_body,
                                                          options)
                    if result is not None:
                        return result
                    continue
                raise self._not_found(name)
            try:
                body = make_body(cur)
                new = self._updated(ctx, namespace, name, cur, body, options, subresource)
            except _EmptiedFinalizers as e:
                if options.dry_run:
                    return WriteResult(object=_encoding.ordered(e.obj))
                try:
                    gone = yield self.storage.delete(key, cur.mod_revision)
                except (st.ConflictError, st.KeyNotFoundError):
                    continue
                self.strategy.after_delete(cur.object)
                return WriteResult(kv=st.KeyValue(
                    key, _encoding.encode(e.obj), gone.mod_revision, gone.create_revision))
            if new is None:
                return WriteResult(kv=self.present(cur))
            # What the update reserves besides the object (Service IPs and ports).
            txn = None if subresource else self.strategy.begin_update(
                new, self.present(cur).object, options.dry_run)
            if options.dry_run:
                return WriteResult(object=_encoding.ordered(new))
            try:
                kv = yield _reserved(txn, lambda: self.storage.update(
                    key, _encoding.encode(new), cur.mod_revision))
            except (st.ConflictError, st.KeyNotFoundError):
                continue
            except st.StorageError as e:
                raise self._storage_error(e, name)
            return WriteResult(kv=kv)
        raise self._conflict(name)

    @inlineCallbacks
    def _create_on_update(self, ctx, namespace, name, body, options):
        meta = body.get("metadata")
        if isinstance(meta, dict) and "resourceVersion" in meta:
            # Stored without it, as kube's create-on-update does (the body
            # itself stays as it is: _prepare_create copies what it keeps).
            body = dict(body, metadata={k: val for k, val in meta.items()
                                        if k != "resourceVersion"})
        new = self._prepare_create(ctx, namespace, body, WriteOptions(
            dry_run=options.dry_run, field_manager=options.field_manager,
            field_validation=IGNORE))
        new["metadata"]["name"] = name
        if self.admission is not None:
            yield self.admission.admit(Attributes(
                CREATE, self.info, namespace, name, new, ctx.user, options.dry_run))
        # Reserved first, then validated, in kube's order (BeginCreate before
        # BeforeCreate), as a POST does.
        txn = self.strategy.begin_create(new, options.dry_run)
        try:
            result = yield _reserved(txn, self._store_created_on_update, namespace, name, new,
                                     options)
        except st.KeyExistsError:
            return None
        return result

    def _store_created_on_update(self, namespace: str, name: str, new: Dict[str, Any],
                                 options: WriteOptions) -> Deferred:
        self._validate_create(new)
        if options.dry_run:
            return succeed(WriteResult(object=_encoding.ordered(new), created=True))
        d = self.storage.create(self.keys.key(namespace, name), _encoding.encode(new))
        return d.addCallback(lambda kv: WriteResult(kv=kv, created=True))

    def update(self, ctx: RequestContext, namespace: str, name: str, obj: Dict[str, Any],
               options: WriteOptions, subresource: str = ""):
        try:
            _options.validate_write_options(options, "UpdateOptions")
            self._check_update_body(namespace, name, obj)
            obj = copy.deepcopy(obj)
            self._field_validation(ctx, obj, options)
        except APIError:
            return fail()
        # Subresource writes never create (their strategies do not allow it).
        create_body = None if subresource else obj
        return self._write_loop(ctx, namespace, name, lambda cur: obj, options, subresource,
                                create_body=create_body)

    def patch(self, ctx: RequestContext, namespace: str, name: str,
              apply_patch: Callable[[dict], dict], options: WriteOptions,
              subresource: str = ""):
        try:
            _options.validate_write_options(options, "PatchOptions")
        except APIError:
            return fail()

        def make_body(cur: st.KeyValue) -> Dict[str, Any]:
            current = copy.deepcopy(self.present(cur).object)
            patched = apply_patch(current)
            self._check_update_body(namespace, name, patched)
            self._field_validation(ctx, patched, options)
            return patched

        return self._write_loop(ctx, namespace, name, make_body, options, subresource)

    # -- delete --------------------------------------------------------------------

    def _check_preconditions(self, name: str, obj: Dict[str, Any],
                             options: DeleteOptions) -> None:
        """As kube's BeforeDelete: a conflict named after the kind, not the resource."""
        meta = obj.get("metadata") or {}
        kind = self.info.kind
        if options.precondition_uid and options.precondition_uid != meta.get("uid"):
            raise apierrors.conflict(kind, name, (
                f"the UID in the precondition ({options.precondition_uid}) does not match the "
                f"UID in record ({meta.get('uid', '')}). The object might have been deleted and "
                "then recreated"), self.info.group)
        if (options.precondition_resource_version
                and options.precondition_resource_version != meta.get("resourceVersion")):
            raise apierrors.conflict(kind, name, (
                "the ResourceVersion in the precondition "
                f"({options.precondition_resource_version}) does not match the ResourceVersion "
                f"in record ({meta.get('resourceVersion', '')}). The object might have been "
                "modified"), self.info.group)

    @inlineCallbacks
    def delete(self, ctx: RequestContext, namespace: str, name: str,
               options: Optional[DeleteOptions] = None):
        options = options or DeleteOptions()
        _options.validate_delete_options(options)
        for text in self.strategy.delete_warnings(options):
            if text not in ctx.warnings:
                ctx.warnings.append(text)
        if self.admission is not None:
            yield self.admission.admit(Attributes(
                DELETE, self.info, namespace, name, None, ctx.user, options.dry_run))
        key = self.keys.key(namespace, name)
        ready = self.strategy.before_write(self)
        if ready is not None:
            yield ready
        for _ in range(_MAX_WRITE_ATTEMPTS):
            try:
                cur = yield self._latest(key)
            except st.KeyNotFoundError:
                raise self._not_found(name)
            obj = cur.object
            self._check_preconditions(name, obj, options)
            terminating = self.strategy.mark_for_deletion(copy.deepcopy(obj), options,
                                                          self._now())
            if terminating is not None:
                if terminating == obj:
                    return DeleteResult(kv=self.present(cur), finished=False)
                if options.dry_run:
                    return DeleteResult(object=_encoding.ordered(terminating), finished=False)
                try:
                    kv = yield self.storage.update(key, _encoding.encode(terminating),
                                                   cur.mod_revision)
                except (st.ConflictError, st.KeyNotFoundError):
                    continue
                return DeleteResult(kv=self.present(kv), finished=False)
            if options.dry_run:
                return DeleteResult(kv=self.present(cur), finished=True)
            try:
                gone = yield self.storage.delete(key, cur.mod_revision)
            except (st.ConflictError, st.KeyNotFoundError):
                continue
            self.strategy.after_delete(obj)
            return DeleteResult(kv=self.present(gone), finished=True)
        raise self._conflict(name)

    @inlineCallbacks
    def delete_collection(self, ctx: RequestContext, namespace: str,
                          list_options: ListOptions, options: DeleteOptions):
        _options.validate_delete_options(options)
        page = yield self.list(ctx, namespace, ListOptions(
            label_selector=list_options.label_selector,
            field_selector=list_options.field_selector,
            resource_version=list_options.resource_version,
            resource_version_match=list_options.resource_version_match))
        deleted = []
        for kv in page.items:
            meta = kv.object.get("metadata") or {}
            try:
                result = yield self.delete(ctx, meta.get("namespace") or "", meta["name"], options)
            except APIError as e:
                if e.code == 404:
                    continue
                raise
            deleted.append(result.kv if result.kv is not None else result.object)
        return ListPage(deleted, page.resource_version)


def build_stores(
    storage: Any,
    resources: Optional[Any] = None,
    clock: Any = None,
    prefix: str = DEFAULT_PREFIX,
) -> Dict[Tuple[str, str, str], GenericStore]:
    """
    One L{GenericStore} per stored built-in resource, keyed by
    C{(group, version, plural)}. Resources without storage (bindings,
    reviews, componentstatuses) are left out: they need their own handlers.
    """
    if resources is None:
        resources = all_resources()
    resources = [r for r in resources if r.storage_version_hash and r.list_kind]
    prefixes: Dict[str, int] = {}
    for r in all_resources():
        if not r.storage_version_hash:
            continue
        prefixes[r.etcd_prefix] = prefixes.get(r.etcd_prefix, 0) + 1
    return {
        (r.group, r.version, r.plural): GenericStore(
            r, storage, strategy_for(r), clock, prefix,
            shared_prefix=prefixes[r.etcd_prefix] > 1)
        for r in resources
    }
