"""PutMetricData's limits as the CloudWatch API reference states them; moto checks none.

- MetricData: at most 1,000 datums per request (PutMetricData), within 1 MB per request.
- MetricName: 1-255 characters (MetricDatum).
- Dimensions: at most 30 per datum; Name 1-255 characters; Value 1-1,024 characters, ASCII
  only, with at least one non-whitespace character (Dimension).
- Values: at most 150; Counts, when given, exactly as many as Values (MetricDatum).
- Value / Values: NaN, +Infinity and -Infinity are not supported (MetricDatum).
- Timestamp: no more than two weeks in the past, no more than two hours in the future
  (MetricDatum: "Data points with time stamps ... up to two weeks in the past and up to two
  hours into the future").

A request that breaks any of them is rejected whole, as CloudWatch does, with
InvalidParameterValue naming the member (the service's own wording names the member path,
e.g. `MetricData.member.3.Dimensions.member.2.Value`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

MAX_DATUMS = 1000
MAX_REQUEST_BYTES = 1024 * 1024
MAX_NAME = 255
MAX_DIMENSIONS = 30
MAX_DIMENSION_VALUE = 1024
MAX_VALUES = 150
MAX_AGE = dt.timedelta(weeks=2)
MAX_AHEAD = dt.timedelta(hours=2)


def check_size(body_bytes: int) -> str | None:
    """Why CloudWatch would refuse a PutMetricData request of this size, or None (only the
    CBOR bridge sees the request's bytes)."""
    if body_bytes > MAX_REQUEST_BYTES:
        return f"The request is {body_bytes} bytes; PutMetricData requests are limited to {MAX_REQUEST_BYTES} bytes."
    return None


def check(document: dict[str, Any]) -> str | None:
    """Why CloudWatch would refuse this PutMetricData request's datums, or None."""
    datums = document.get("MetricData") or []
    if len(datums) > MAX_DATUMS:
        return f"The collection MetricData must not have a size greater than {MAX_DATUMS}."
    now = dt.datetime.now(dt.timezone.utc)
    for i, datum in enumerate(datums, start=1):
        where = f"MetricData.member.{i}"
        name = datum.get("MetricName") or ""
        if not 1 <= len(name) <= MAX_NAME:
            return f"The parameter {where}.MetricName must be between 1 and {MAX_NAME} characters."
        dimensions = datum.get("Dimensions") or []
        if len(dimensions) > MAX_DIMENSIONS:
            return f"The collection {where}.Dimensions must not have a size greater than {MAX_DIMENSIONS}."
        for j, dimension in enumerate(dimensions, start=1):
            at = f"{where}.Dimensions.member.{j}"
            dim_name = dimension.get("Name") or ""
            value = dimension.get("Value")
            if not 1 <= len(dim_name) <= MAX_NAME:
                return f"The parameter {at}.Name must be between 1 and {MAX_NAME} characters."
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_DIMENSION_VALUE:
                return f"The parameter {at}.Value must be between 1 and {MAX_DIMENSION_VALUE} characters."
            if not value.isascii():
                return f"The parameter {at}.Value must contain only ASCII characters."
            if not value.strip():
                return f"The parameter {at}.Value must contain at least one non-whitespace character."
        values = datum.get("Values")
        counts = datum.get("Counts")
        if values is not None and len(values) > MAX_VALUES:
            return f"The collection {where}.Values must not have a size greater than {MAX_VALUES}."
        if counts is not None and len(counts) != len(values or []):
            return f"The parameters {where}.Values and {where}.Counts must be arrays of the same length."
        numbers = list(values or []) + list(counts or [])
        if "Value" in datum and datum["Value"] is not None:
            numbers.append(datum["Value"])
        if any(not math.isfinite(_number(n)) for n in numbers):
            return f"The parameter {where} contains NaN or Infinity, which CloudWatch does not accept."
        stamp = datum.get("Timestamp")
        if isinstance(stamp, str):
            try:
                stamp = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                stamp = None
        if isinstance(stamp, (int, float)):
            stamp = dt.datetime.fromtimestamp(stamp, dt.timezone.utc)
        if isinstance(stamp, dt.datetime):
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.timezone.utc)
            if stamp < now - MAX_AGE or stamp > now + MAX_AHEAD:
                return f"The parameter {where}.Timestamp must specify a time no more than two weeks in the past or two hours in the future."
    return None


def _number(value: Any) -> float:
    """A datum's number as moto's parsers hand it over (a float, or text such as "NaN")."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def apply() -> None:
    """Checks every PutMetricData's datums, whatever protocol it came in (the CBOR bridge
    checks the request size, which only it sees)."""
    from moto.cloudwatch import models
    from moto.cloudwatch.exceptions import InvalidParameterValue

    put = models.CloudWatchBackend.put_metric_data

    def put_checked(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        refused = check({"MetricData": metric_data})
        if refused is not None:
            raise InvalidParameterValue(refused)
        put(self, namespace, metric_data)

    models.CloudWatchBackend.put_metric_data = put_checked
