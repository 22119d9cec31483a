"""CloudFront's limits on invalidations in progress, and how long an invalidation is in progress.

moto 5.2 accepts any number of invalidations and never refuses one. CloudFront limits what is in
progress per distribution; the project's invalidator and `deployer invalidate` plan within those
limits and retry TooManyInvalidationsInProgress, so the emulator applies them as documented.

The limits (Amazon CloudFront Developer Guide):

- "Concurrent invalidation request maximum" (Invalidation.html#InvalidationLimits): "If you're
  invalidating files individually, you can have invalidation requests for up to 3,000 files per
  distribution in progress at one time. This can be one invalidation request for up to 3,000
  files, up to 3,000 requests for one file each, or any other combination that doesn't exceed
  3,000 files. [...] If you exceed the maximum, CloudFront returns an error message." and "If
  you're using the * wildcard, you can have requests for up to 15 invalidation paths in progress
  at one time. You can also have invalidation requests for up to 3,000 individual files per
  distribution in progress at the same time; the maximum on wildcard invalidation requests
  allowed is independent of the maximum on invalidating files individually."
- "Quotas", table "Quotas on invalidations" (cloudfront-limits.html#limits-invalidations): "File
  invalidation: maximum number of files allowed in active invalidation requests, excluding
  wildcard invalidations: 3,000"; "File invalidation: maximum number of active wildcard
  invalidations allowed: 15"; "maximum number of files that one wildcard invalidation can
  process: No quota".

So, per distribution: the file paths (paths without `*`) of the invalidations in progress plus
those of the new request may not exceed 3,000, and their wildcard paths (paths ending in `*`) may
not exceed 15; the two counts are independent (3,000 files held in progress do not stop a
wildcard). A CreateInvalidation that would exceed either is refused whole, nothing created, with
the API reference's TooManyInvalidationsInProgress (HTTP 400, "You have exceeded the maximum number
of allowable InProgress invalidation batch requests, or invalidation objects.") and CloudFront's
own message for it: "Processing your request will cause you to exceed the maximum number of
in-progress invalidations." (a CloudFront answer quoted whole in laurilehmijoki/s3_website#26).
The new request counts too, so a single request of 3,001 file paths or 16 wildcards is refused
even with nothing in progress ("one invalidation request for up to 3,000 files"). A repeated
CallerReference with the same paths creates nothing (moto_patches.py) and is never refused.

Per-request checks moto misses, each stated in the documentation (the service model's lengths
and patterns are model_validation.py's, which has none for paths):

- InconsistentQuantities (400) when `Paths.Quantity` is not the number of `Paths.Items`: the
  CreateInvalidation error list, "The value of Quantity and the size of Items don't match."
- InvalidArgument (400) for a path that does not begin with `/` ("When you use the CloudFront API
  directly, invalidation paths must begin with a leading slash"), has `*` anywhere but last ("The
  `*` [...] must be the last character in the invalidation path"; "You can't use a wildcard within
  the path; only at the end of the path") or is longer than 4,000 characters ("The maximum length
  of a path is 4,000 characters"), all from the Developer Guide's "Invalidation paths"; the
  message is CloudFront's answer to a bad path, "Your request contains one or more invalid
  invalidation paths." (chetan/invalidate-cloudfront-action#4).
- MissingBody (400) for a CreateInvalidation without a body: the CreateInvalidation error list,
  "This operation requires a body. Ensure that the body is present and the Content-Type header
  is set." Checked in front of model_validation, which would otherwise answer MalformedXML for
  the absent InvalidationBatch.
- NoSuchDistribution (404) is moto's own.

How long an invalidation is in progress: from its creation for `latency.delay("invalidation_completed")`
seconds, 0 by default (the limits then bite only within one request, or while held) and 60 s
before --scale under `--latency aws` (see latency.py for the figure's source). While the hold is
on, no invalidation completes:

    POST /_cfrp/invalidations {"hold": true}    invalidations not yet completed stay in progress,
                                                new ones too
    POST /_cfrp/invalidations {"hold": false}   released: each completes once its duration passed
    GET  /_cfrp/invalidations                   {"hold": ..., "duration_seconds": ...,
                                                 "in_progress": {distribution id: {"files": n,
                                                 "wildcards": m}}}

Status as GetInvalidation, ListInvalidations and CreateInvalidation report it (the API reference's
two values, InProgress and Completed): `InProgress` while in progress as above. Once no longer
in progress, an invalidation still answers `InProgress` to its first GetInvalidation and is
`Completed` from the second on (and in lists from then on), so a client's wait loop sees both
states whatever the duration; this is presentation only: the limits count only what is in
progress by duration and hold.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from typing import Any

from . import latency

MAX_FILES = 3000
MAX_WILDCARDS = 15
MAX_PATH = 4000

_lock = threading.RLock()
_hold = False
_invalidation_path = re.compile(r"^/20\d\d-\d\d-\d\d/distribution/[^/]+/invalidation/?$")


def duration() -> float:
    """Seconds an invalidation stays in progress after it is created (hold aside)."""
    return latency.delay("invalidation_completed")


def in_progress(invalidation: Any) -> bool:
    """Whether an invalidation counts as in progress now. Completion is sticky: one that completed
    before a hold began stays completed."""
    state = invalidation.__dict__
    if state.get("_cfrp_done"):
        return False
    if _hold:
        return True
    if time.monotonic() >= state.get("_cfrp_created", 0.0) + duration():
        state["_cfrp_done"] = True
        return False
    return True


def _status(invalidation: Any) -> str:
    if in_progress(invalidation):
        return "InProgress"
    return "Completed" if invalidation.__dict__.get("_cfrp_reads", 0) >= 2 else "InProgress"


def _counts(invalidations: list[Any]) -> tuple[int, int]:
    files = wildcards = 0
    for invalidation in invalidations:
        if in_progress(invalidation):
            f, w = _split(invalidation.paths)
            files += f
            wildcards += w
    return files, wildcards


def _split(paths: list[str]) -> tuple[int, int]:
    wildcards = sum(1 for p in paths if p.endswith("*"))
    return len(paths) - wildcards, wildcards


def _error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0"?>\n<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def missing_body(method: str, path: str, environ: dict[str, Any]) -> tuple[int, list, bytes] | None:
    """MissingBody for a CreateInvalidation sent without a body, else None."""
    if method != "POST" or not _invalidation_path.match(path):
        return None
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization and "/cloudfront/aws4_request" not in authorization:
        return None  # another service's path that happens to look like CloudFront's
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length:
        return None
    message = "This operation requires a body. Ensure that the body is present and the Content-Type header is set."
    return 400, [("Content-Type", "text/xml")], _error_xml("MissingBody", message)


def control(method: str, body: bytes) -> tuple[int, list, bytes]:
    """`/_cfrp/invalidations`: GET the state, POST {"hold": bool} to hold or release."""
    global _hold
    with _lock:
        if method == "POST":
            try:
                document = json.loads(body or b"{}")
            except ValueError:
                document = None
            if not isinstance(document, dict) or not isinstance(document.get("hold"), bool):
                return 400, [("Content-Type", "application/json")], b'{"error": "send {\\"hold\\": true} or {\\"hold\\": false}"}'
            if document["hold"] and not _hold:
                # Whatever already completed stays completed.
                for invalidations in _all_invalidations().values():
                    for invalidation in invalidations:
                        in_progress(invalidation)
            _hold = document["hold"]
        elif method != "GET":
            return 405, [("Content-Type", "application/json")], b'{"error": "GET or POST"}'
        held: dict[str, dict[str, int]] = {}
        for dist_id, invalidations in _all_invalidations().items():
            files, wildcards = _counts(invalidations)
            if files or wildcards:
                held[dist_id] = {"files": files, "wildcards": wildcards}
        state = {"hold": _hold, "duration_seconds": duration(), "in_progress": held}
    return 200, [("Content-Type", "application/json")], json.dumps(state).encode()


def _all_invalidations() -> dict[str, list[Any]]:
    from moto.cloudfront.models import cloudfront_backends

    found: dict[str, list[Any]] = {}
    for account in list(cloudfront_backends.keys()):
        for backend in list(cloudfront_backends[account].values()):
            for dist_id, invalidations in list(backend.invalidations.items()):
                found.setdefault(dist_id, []).extend(invalidations)
    return found


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    from moto.cloudfront import models, responses
    from moto.cloudfront.exceptions import CloudFrontException

    class TooManyInvalidationsInProgress(CloudFrontException):
        def __init__(self) -> None:
            super().__init__(
                "TooManyInvalidationsInProgress",
                "Processing your request will cause you to exceed the maximum number of in-progress invalidations.",
            )

    class InconsistentQuantities(CloudFrontException):
        def __init__(self) -> None:
            super().__init__("InconsistentQuantities", "The value of Quantity and the size of Items don't match.")

    class InvalidPaths(CloudFrontException):
        def __init__(self) -> None:
            super().__init__("InvalidArgument", "Your request contains one or more invalid invalidation paths.")

    def get_status(self: Any) -> str:
        return _status(self)

    def set_status(self: Any, value: Any) -> None:
        pass  # moto stores COMPLETED at creation; the status is computed

    models.Invalidation.status = property(get_status, set_status)

    init = models.Invalidation.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.__dict__["_cfrp_created"] = time.monotonic()
        self.__dict__["_cfrp_reads"] = 0

    models.Invalidation.__init__ = __init__

    get_invalidation = models.CloudFrontBackend.get_invalidation

    def get_invalidation_read(self: Any, dist_id: str, id: str) -> Any:
        invalidation = get_invalidation(self, dist_id, id)
        with _lock:
            invalidation.__dict__["_cfrp_reads"] = invalidation.__dict__.get("_cfrp_reads", 0) + 1
        return invalidation

    models.CloudFrontBackend.get_invalidation = get_invalidation_read

    create = responses.CloudFrontResponse.create_invalidation

    def create_invalidation_limited(self: Any) -> Any:
        dist_id = self._get_param("DistributionId")
        paths = self._get_param("InvalidationBatch.Paths.Items", []) or []
        quantity = self._get_param("InvalidationBatch.Paths.Quantity")
        caller_ref = self._get_param("InvalidationBatch.CallerReference")
        if quantity is not None and int(quantity) != len(paths):
            raise InconsistentQuantities()
        for path in paths:
            if not path.startswith("/") or "*" in path[:-1] or len(path) > MAX_PATH:
                raise InvalidPaths()
        with _lock:
            backend = self.backend
            existing = backend.invalidations.get(dist_id) or []
            repeated = any(i.caller_ref == caller_ref for i in existing)
            if dist_id in backend.distributions and not repeated:
                files, wildcards = _counts(existing)
                new_files, new_wildcards = _split(paths)
                if files + new_files > MAX_FILES or wildcards + new_wildcards > MAX_WILDCARDS:
                    raise TooManyInvalidationsInProgress()
            return create(self)

    responses.CloudFrontResponse.create_invalidation = create_invalidation_limited
