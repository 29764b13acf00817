"""
Writing answers: one place that turns a handler's result or an L{APIError}
into bytes on the wire, so every error is a C{Status} and nothing is written
to a request that has already been answered (timed out or disconnected).

Handlers subclass L{APIResource} and implement C{handle(request)}, returning
a L{Response} (or a Deferred of one), or L{STREAMING} when they answer the
request themselves (watches), or raising L{APIError}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any, Dict, Optional, Union

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from kapi_twisted import apierrors
from kapi_twisted.apierrors import APIError

log = Logger()

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass
class Response:
    """A complete answer: status code, body bytes, content type, extra headers."""

    body: bytes = b""
    code: int = 200
    content_type: Optional[str] = JSON
    headers: Dict[str, str] = field(default_factory=dict)


class _Streaming:
    def __repr__(self) -> str:
        return "STREAMING"


STREAMING = _Streaming()
"""Returned by a handler that writes and finishes the request itself."""


def json_response(obj: Any, code: int = 200, indent: Optional[int] = None) -> Response:
    """A JSON answer; compact unless C{indent} is given."""
    if indent is None:
        body = json.dumps(obj, separators=(",", ":"))
    else:
        body = json.dumps(obj, indent=indent)
    return Response(body.encode("utf-8"), code, JSON)


def write_response(request: Any, response: Response) -> None:
    """Write C{response} and finish, unless the request is already gone."""
    if _gone(request):
        return
    request.setResponseCode(response.code)
    headers = request.responseHeaders
    if response.content_type is not None:
        headers.setRawHeaders(b"content-type", [response.content_type.encode()])
    for name, value in response.headers.items():
        headers.setRawHeaders(name.encode(), [value.encode()])
    headers.setRawHeaders(b"content-length", [str(len(response.body)).encode()])
    if request.method != b"HEAD":
        request.write(response.body)
    request.finish()


def write_text(request: Any, code: int, text: str, headers: Optional[dict] = None) -> None:
    """A plain-text answer with Go's C{http.Error} headers."""
    hdrs = {"X-Content-Type-Options": "nosniff"}
    hdrs.update(headers or {})
    write_response(request, Response(text.encode("utf-8"), code, TEXT, hdrs))


def error_response(error: APIError) -> Response:
    """The C{Status} answer for C{error}: C{Content-Type: application/json} exactly."""
    return Response(error.body(), error.code, JSON, dict(error.headers))


def write_error(request: Any, error: APIError) -> None:
    write_response(request, error_response(error))


def write_failure(request: Any, failure: Failure) -> None:
    """
    Answer a failed handler: an L{APIError} as its C{Status}; anything else is
    logged with its traceback and answered as a 500 C{Status}.
    """
    if failure.check(APIError):
        write_error(request, failure.value)
        return
    from kapi_twisted.storage.interface import StorageError

    if failure.check(StorageError):
        from kapi_twisted.server.storage_errors import storage_error_to_api

        write_error(request, storage_error_to_api(failure.value))
        return
    log.failure("Unhandled error while serving {uri}", failure, uri=_uri(request))
    write_error(request, apierrors.internal_error(_short(failure)))


def _short(failure: Failure) -> str:
    text = str(failure.value) or failure.type.__name__
    return text.splitlines()[0][:200]


def _uri(request: Any) -> str:
    uri = getattr(request, "uri", b"")
    return uri.decode("latin-1") if isinstance(uri, bytes) else str(uri)


def _gone(request: Any) -> bool:
    gone = getattr(request, "gone", None)
    if gone is not None:
        return bool(gone)
    return bool(request.finished or getattr(request, "_disconnected", False))


def _log_write_failure(failure: Failure) -> None:
    log.failure("Error writing an answer", failure)


HandlerResult = Union[Response, _Streaming, None]


class APIResource(Resource):
    """
    A leaf resource whose C{handle(request)} returns the answer; errors are
    rendered once, as C{Status}, here.
    """

    isLeaf = True

    def handle(self, request: Any) -> Union[HandlerResult, Deferred]:
        raise NotImplementedError

    def render(self, request: Any) -> Any:
        # An answer ready at once (or a failure raised at once) is written
        # without building a Deferred for it, as maybeDeferred would.
        try:
            result = self.handle(request)
        except BaseException:
            self._answer_failure(Failure(), request)
            return NOT_DONE_YET
        if type(result) is CoroutineType:
            result = Deferred.fromCoroutine(result)
        if isinstance(result, Deferred):
            result.addCallbacks(self._answer, self._answer_failure,
                                callbackArgs=(request,), errbackArgs=(request,))
        elif isinstance(result, Failure):
            self._answer_failure(result, request)
        else:
            self._answer(result, request)
        return NOT_DONE_YET

    def _answer(self, result: HandlerResult, request: Any) -> None:
        """Write a handler's answer; a failure to write is logged, not raised."""
        try:
            self._finish(request, result)
        except BaseException:
            _log_write_failure(Failure())

    def _answer_failure(self, failure: Failure, request: Any) -> None:
        """Write a handler's failure as its C{Status}; a failure to write is logged."""
        try:
            write_failure(request, failure)
        except BaseException:
            _log_write_failure(Failure())

    @staticmethod
    def _finish(request: Any, result: HandlerResult) -> None:
        if result is STREAMING:
            return
        if result is None:
            result = Response(b"", 200, None)
        write_response(request, result)
