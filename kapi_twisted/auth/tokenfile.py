"""
Static bearer tokens from C{--token-auth-file}, in kube-apiserver's CSV
format: one C{token,user,uid[,"group1,group2"]} record per line (more
columns are allowed and ignored). The file is read once at start, as
kube-apiserver does.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, Optional

from twisted.logger import Logger

from kapi_twisted.auth.user import AuthenticationError, UserInfo

log = Logger()


class TokenFileError(ValueError):
    """The token file cannot be used; the message names the file."""


def parse_token_file(text: str, path: str = "<tokens>") -> Dict[str, UserInfo]:
    """
    Map each token to its user. Raises L{TokenFileError} for a record with
    fewer than three columns or unparseable CSV; empty tokens are skipped
    and a repeated token keeps its last record (both with a warning).
    """
    tokens: Dict[str, UserInfo] = {}
    reader = csv.reader(io.StringIO(text), skipinitialspace=True, strict=True)
    number = 0
    try:
        for record in reader:
            if not record:
                continue
            if len(record) < 3:
                raise TokenFileError(
                    f"token file '{path}' must have at least 3 columns "
                    f"(token, user name, user uid), found {len(record)}"
                )
            number += 1
            token, name, uid = record[0], record[1], record[2]
            if not token:
                log.warn("empty token has been found in token file {path!r}, "
                         "record number {n}", path=path, n=number)
                continue
            if token in tokens:
                log.warn("duplicate token has been found in token file {path!r}, "
                         "record number {n}", path=path, n=number)
            groups = tuple(record[3].split(",")) if len(record) > 3 else ()
            tokens[token] = UserInfo(name, uid, groups)
    except csv.Error as e:
        raise TokenFileError(f"token file '{path}': line {reader.line_num}: {e}") from None
    return tokens


def load_token_file(path: str) -> Dict[str, UserInfo]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise TokenFileError(f"token file '{path}': {e.strerror}") from None
    return parse_token_file(text, path)


def bearer_token(request: Any) -> Optional[str]:
    """
    The token of an C{Authorization: Bearer <token>} header, or L{None}
    (other schemes and an empty token are no opinion, as in kube-apiserver).
    """
    header = request.getHeader(b"authorization")
    if not header:
        return None
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    parts = header.strip().split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


class TokenFileAuthenticator:
    """Bearer tokens from a static table; an unknown token fails (401)."""

    def __init__(self, tokens: Dict[str, UserInfo]) -> None:
        self.tokens = tokens

    @classmethod
    def from_file(cls, path: str) -> "TokenFileAuthenticator":
        return cls(load_token_file(path))

    def authenticate(self, request: Any) -> Optional[UserInfo]:
        token = bearer_token(request)
        if token is None:
            return None
        user = self.tokens.get(token)
        if user is None:
            raise AuthenticationError("invalid bearer token")
        return user
