"""
The last-resort mapping of storage errors to C{Status} answers, for errors
that reach the response writer without a resource-specific translation
(the registry translates the common ones with the resource's name).
"""

from __future__ import annotations

from kapi_twisted import apierrors
from kapi_twisted.apierrors import APIError
from kapi_twisted.storage import interface as storage


def storage_error_to_api(error: storage.StorageError) -> APIError:
    if isinstance(error, storage.CompactedError):
        return apierrors.expired("The resourceVersion for the provided list is too old.")
    if isinstance(error, storage.FutureRevisionError):
        err = apierrors.timeout(
            f"Too large resource version: {error.requested}, current: {error.current}",
            retry_after=1,
        )
        err.details["causes"] = [
            {"reason": apierrors.RESOURCE_VERSION_TOO_LARGE,
             "message": "Too large resource version"}
        ]
        return err
    if isinstance(error, storage.UnavailableError):
        return apierrors.service_unavailable(
            f"storage is unavailable: {error}", retry_after=1
        )
    if isinstance(error, storage.KeyNotFoundError):
        return apierrors.route_not_found()
    if isinstance(error, storage.KeyExistsError):
        return APIError(409, apierrors.ALREADY_EXISTS, f"{error.key} already exists")
    if isinstance(error, storage.ConflictError):
        return APIError(409, apierrors.CONFLICT, apierrors.OBJECT_MODIFIED)
    return apierrors.internal_error(str(error))
