"""Origin groups, custom error responses and Origin Shield in distribution configs.

moto 5.2 keeps `OriginGroups`, `CustomErrorResponses` and each origin's `OriginShield` through
Create/Get/UpdateDistribution as the request carried them, but:

- it checks the default cache behaviour's `TargetOriginId` against the origins only, so a
  distribution whose default behaviour routes to an origin group is refused (NoSuchOrigin);
  CloudFront accepts an origin or an origin group id there ("TargetOriginId: the value of ID
  for the origin that you want CloudFront to route requests to", origin groups included);
- it checks no cache behaviour's target at all;
- it checks nothing inside origin groups, error responses or Origin Shield.

This module makes CloudFront's checks on these fields, with the errors of the API reference:

- a behaviour (default or cache) whose target is neither an origin nor an origin group, and an
  origin group member that is not an origin of the distribution: `NoSuchOrigin` ("No origin
  exists with the specified Origin Id");
- an origin group id that repeats or is also an origin's id, a group whose two members are
  the same origin, failover status codes outside the ones CloudFront fails over on (400, 403,
  404, 416, 500, 502, 503, 504): `InvalidArgument`;
- an origin group behind a behaviour whose AllowedMethods include POST, PUT, PATCH or DELETE:
  `InvalidArgument` (CloudFront fails over GET, HEAD and OPTIONS only and refuses such a
  behaviour);
- a custom error response for a code CloudFront does not let you configure: `InvalidErrorCode`;
  a `ResponseCode` CloudFront cannot answer a page with: `InvalidResponseCode`; a
  `ResponsePagePath` without a `ResponseCode` or the other way round (the API reference: "If
  you specify a value for ResponsePagePath, you must also specify a value for ResponseCode",
  and the converse): `InvalidArgument`; a page path not starting with `/`:
  `InvalidRelativePath`; a code given twice: `InvalidArgument`;
- Origin Shield enabled without a region, or in a region CloudFront does not offer it in (the
  Developer Guide's list): `InvalidArgument`.
"""

from __future__ import annotations

from typing import Any

from moto.cloudfront import models
from moto.cloudfront.exceptions import CloudFrontException, OriginDoesNotExist

FAILOVER_STATUS_CODES = {400, 403, 404, 416, 500, 502, 503, 504}
ERROR_CODES = {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
PAGE_RESPONSE_CODES = {"200", "400", "403", "404", "405", "414", "416", "500", "501", "502", "503", "504"}
# CloudFront Developer Guide, "Choosing the AWS Region for Origin Shield".
ORIGIN_SHIELD_REGIONS = {
    "us-east-2", "us-east-1", "us-west-2", "ap-south-1", "ap-northeast-2", "ap-southeast-1",
    "ap-southeast-2", "ap-northeast-1", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class InvalidArgument(CloudFrontException):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidArgument", message)


class InvalidErrorCode(CloudFrontException):
    def __init__(self, code: Any) -> None:
        super().__init__("InvalidErrorCode", f"The error code {code} is not valid for a custom error response.")


class InvalidResponseCode(CloudFrontException):
    def __init__(self, code: Any) -> None:
        super().__init__("InvalidResponseCode", f"The response code {code} is not valid.")


class InvalidRelativePath(CloudFrontException):
    def __init__(self, path: Any) -> None:
        super().__init__(
            "InvalidRelativePath",
            f"The relative path {path} is too big, is not URL-encoded, or does not begin with a slash (/).",
        )


def _items(container: Any) -> list[Any]:
    if not isinstance(container, dict):
        return []
    items = container.get("Items")
    if isinstance(items, dict):
        # A list element that came through the XML parser as a single mapping.
        items = next(iter(items.values()), [])
    if isinstance(items, dict):
        items = [items]
    return list(items or [])


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _methods(behaviour: dict[str, Any]) -> set[str]:
    return {str(m).upper() for m in _items(behaviour.get("AllowedMethods"))}


def check(config: dict[str, Any]) -> None:
    """Raises what CloudFront answers for these fields of a DistributionConfig."""
    origins = [o for o in _items(config.get("Origins")) if isinstance(o, dict)]
    origin_ids = [o.get("Id") for o in origins]
    group_ids: list[str] = []
    for group in _items(config.get("OriginGroups")):
        gid = group.get("Id")
        if gid in origin_ids:
            raise InvalidArgument(f"The origin group ID {gid} is also the ID of an origin; origins and origin groups need distinct IDs.")
        if gid in group_ids:
            raise InvalidArgument(f"The origin group ID {gid} is used by more than one origin group.")
        group_ids.append(gid)
        members = [m.get("OriginId") for m in _items(group.get("Members"))]
        for member in members:
            if member not in origin_ids:
                raise OriginDoesNotExist()
        if len(set(members)) != len(members):
            raise InvalidArgument(f"The origin group {gid} names the origin {members[0]} twice; its members must be different origins.")
        codes = [_int(c) for c in _items((group.get("FailoverCriteria") or {}).get("StatusCodes"))]
        bad = [c for c in codes if c not in FAILOVER_STATUS_CODES]
        if bad:
            raise InvalidArgument(
                f"The origin group {gid} fails over on status code {bad[0]}; the status codes allowed are "
                + ", ".join(str(c) for c in sorted(FAILOVER_STATUS_CODES)) + "."
            )
    behaviours = [config.get("DefaultCacheBehavior") or {}] + list(_items(config.get("CacheBehaviors")))
    for behaviour in behaviours:
        if not isinstance(behaviour, dict):
            continue
        target = behaviour.get("TargetOriginId")
        if target is not None and target not in origin_ids and target not in group_ids:
            raise OriginDoesNotExist()
        if target in group_ids and _methods(behaviour) & WRITE_METHODS:
            raise InvalidArgument(
                "The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group."
            )
    seen: set[Any] = set()
    for response in _items(config.get("CustomErrorResponses")):
        code = _int(response.get("ErrorCode"))
        if code not in ERROR_CODES:
            raise InvalidErrorCode(code)
        if code in seen:
            raise InvalidArgument(f"The error code {code} has more than one custom error response.")
        seen.add(code)
        page = response.get("ResponsePagePath") or ""
        response_code = "" if response.get("ResponseCode") is None else str(response.get("ResponseCode"))
        if bool(page) != bool(response_code):
            raise InvalidArgument(
                f"The custom error response for {code} needs both ResponsePagePath and ResponseCode, or neither."
            )
        if page and not str(page).startswith("/"):
            raise InvalidRelativePath(page)
        if response_code and response_code not in PAGE_RESPONSE_CODES:
            raise InvalidResponseCode(response_code)
    for origin in origins:
        shield = origin.get("OriginShield")
        if not isinstance(shield, dict):
            continue
        if str(shield.get("Enabled")).lower() != "true":
            continue
        region = shield.get("OriginShieldRegion")
        if not region:
            raise InvalidArgument(f"Origin Shield is enabled for origin {origin.get('Id')} without an OriginShieldRegion.")
        if region not in ORIGIN_SHIELD_REGIONS:
            raise InvalidArgument(
                f"The OriginShieldRegion {region} of origin {origin.get('Id')} is not a region CloudFront offers Origin Shield in."
            )


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    original = models.DistributionConfig.__init__

    def __init__(self: Any, config: dict[str, Any]) -> None:
        check(config)
        default = config.get("DefaultCacheBehavior") or {}
        target = default.get("TargetOriginId")
        origin_ids = [o.get("Id") for o in _items(config.get("Origins")) if isinstance(o, dict)]
        if target is None or target in origin_ids or not origin_ids:
            original(self, config)
            return
        # An origin group (check() made sure it is one): moto only looks among the origins.
        default["TargetOriginId"] = origin_ids[0]
        original(self, config)
        self.DefaultCacheBehavior.target_origin_id = target

    models.DistributionConfig.__init__ = __init__
