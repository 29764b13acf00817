"""
The request object every handler sees: twisted.web's L{Request} plus the
per-request context that kube-apiserver keeps in Go's C{context.Context}
(request info, user, arrival time, warnings, audit ID).
"""

from __future__ import annotations

import time
from typing import Any, List, Optional

from twisted.python.failure import Failure
from twisted.web import resource as _resource
from twisted.web.http import Request as HTTPRequest
from twisted.web.http import datetimeToString, unquote
from twisted.web.server import Request

from kapi_twisted.apierrors import MAX_REQUEST_BODY_BYTES
from kapi_twisted.server._headers import ResponseHeaders

# kube-apiserver's WithWarningRecorder limits.
_WARNINGS_TOTAL_RUNES = 4096
_WARNING_TRUNCATED_RUNES = 256

_UNKNOWN = object()


class APIRequest(Request):
    """
    @ivar request_info: the parsed L{kapi_twisted.server.requestinfo.RequestInfo},
        set by the request-info filter.
    @ivar user: the authenticated user (C{kapi_twisted.auth} user info), set by
        the authentication filter.
    @ivar received_at: wall-clock arrival time (the base of the deadline).
    @ivar audit_id: the C{Audit-ID} of this request.
    @ivar timed_out: set once the timeout filter has answered 504; later
        writes from the handler are thrown away.
    @ivar long_running: set by the request-info filter (watches, proxies...).
    """

    request_info: Any = None
    user: Any = None
    audit_id: str = ""
    timed_out: bool = False
    long_running: bool = False

    max_body_bytes: int = MAX_REQUEST_BODY_BYTES
    body_too_large: bool = False
    _body_received: int = 0

    def handleContentChunk(self, data: bytes) -> None:
        """
        Keep the body unless it grows past C{max_body_bytes}: then drop it (the
        filter chain answers 413), so an oversized upload costs no memory or disk.
        """
        self._body_received += len(data)
        if self._body_received <= self.max_body_bytes:
            super().handleContentChunk(data)
        elif not self.body_too_large:
            self.body_too_large = True
            self.content.seek(0)
            self.content.truncate()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.responseHeaders = ResponseHeaders()
        self.received_at = time.time()
        self._warnings: List[str] = []

    def gotLength(self, length: Optional[int]) -> None:
        """
        twisted.web.server's C{gotLength} without its probe for a site
        C{getContentFile} (which ours lacks: an AttributeError raised and
        caught on every request).
        """
        get_content_file = getattr(self.channel.site, "getContentFile", None)
        if get_content_file is None:
            HTTPRequest.gotLength(self, length)
        else:
            self.content = get_content_file(length)

    def process(self) -> None:
        """
        twisted.web's C{Request.process} without its C{Server} header
        (kube-apiserver sends none) and with a C{Date} formatted once a second,
        not once a request.
        """
        self.site = self.channel.site
        self.responseHeaders.setRawHeaders(b"date", [_http_date()])
        self.prepath = []
        self.postpath = list(map(unquote, self.path[1:].split(b"/")))
        if self.path == b"*":
            self._handleStar()
            return
        try:
            resrc = self.site.getResourceFor(self)
            if _resource._IEncodingResource.providedBy(resrc):
                encoder = resrc.getEncoder(self)
                if encoder is not None:
                    self._encoder = encoder
            self.render(resrc)
        except BaseException:
            self.processingFailed(Failure())

    def write(self, data: bytes) -> None:
        """Throw away writes once the timeout filter has answered 504."""
        if self.timed_out:
            return
        super().write(data)

    def finish(self) -> None:
        """A handler finishing after its 504 was sent does nothing."""
        if self.timed_out:
            return
        super().finish()

    def add_warning(self, text: str) -> None:
        """
        Add a C{Warning: 299 - "<text>"} response header (duplicates dropped;
        once the total passes 4096 runes each warning is cut to 256 runes).
        Has no effect after the headers were written.
        """
        if self.startedWriting or text in self._warnings:
            return
        self._warnings.append(text)
        total = sum(len(w) for w in self._warnings)
        texts = self._warnings
        if total > _WARNINGS_TOTAL_RUNES:
            texts = [w[:_WARNING_TRUNCATED_RUNES] for w in self._warnings]
        self.responseHeaders.setRawHeaders(
            b"warning", [_warning_header(t) for t in texts]
        )

    @property
    def warnings(self) -> List[str]:
        return list(self._warnings)

    @property
    def gone(self) -> bool:
        """True once nothing more may be written: finished, timed out or disconnected."""
        return bool(self.finished or self.timed_out or self._disconnected)

    def peer_certificate(self) -> Optional[Any]:
        """
        The client's certificate (pyOpenSSL X509) from the TLS layer, if any,
        for HTTP/1.1 and HTTP/2 alike.
        """
        # The answer is kept on the connection (HTTP/1.1: the channel; HTTP/2:
        # the stream's connection): renegotiation is off (serving's tls
        # module), so a connection's peer certificate never changes, and
        # asking OpenSSL for it costs several microseconds per request.
        owner = getattr(self.channel, "connection", None) or self.channel
        cached = getattr(owner, "_kapi_peer_certificate", _UNKNOWN)
        if cached is not _UNKNOWN:
            return cached
        cert = self._ask_peer_certificate()
        try:
            owner._kapi_peer_certificate = cert
        except AttributeError:  # an owner that takes no attributes: ask each time
            pass
        return cert

    def _ask_peer_certificate(self) -> Optional[Any]:
        transport = self.transport
        # HTTP/1.1: the request's transport is the TLS connection. HTTP/2: the
        # channel is a stream that asks its connection (serving's http2 module).
        for candidate in (transport, getattr(transport, "transport", None),
                          getattr(self.channel, "transport", None), self.channel):
            get = getattr(candidate, "getPeerCertificate", None)
            if get is not None:
                try:
                    return get()
                except Exception:
                    return None
        return None


_date_cache: List[Any] = [None, b""]


def _http_date() -> bytes:
    """The HTTP C{Date} of now, formatted once per wall-clock second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[1] = datetimeToString(now)
        _date_cache[0] = now
    return _date_cache[1]


def _warning_header(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'.encode("utf-8")
