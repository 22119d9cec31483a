"""Small corrections to moto's CloudFront model, each to what the CloudFront API reference says.

CreateInvalidation: "If you make a second invalidation request with the same value for
CallerReference, and if the rest of the request is the same, CloudFront doesn't create a new
invalidation request. Instead, CloudFront returns information about the invalidation request
that you previously created with the same CallerReference. If CallerReference is a value you
already sent in a previous invalidation batch request but the content of any Path is
different from the original request, CloudFront returns an InvalidationBatchAlreadyExists
error." moto 5.2 creates a new invalidation every time.

CloudWatch percentile statistics (`p50`, `p99.9`, ...): CloudWatch computes them from the
samples a metric received (`Values`/`Counts` included); moto 5.2 answers None for them. The
emulator computes the nearest-rank percentile over the samples moto stored.

moto 5.2 drops a cache behaviour's FunctionAssociations and LambdaFunctionAssociations
(it stores `{"Quantity": 0}` whatever the request said). CloudFront keeps them and returns them
from GetDistribution/GetDistributionConfig, and the deployer reads them back to converge, so the
emulator keeps what the request carried.
"""

from __future__ import annotations

from typing import Any

import math
import re

from moto.cloudfront import models
from moto.cloudwatch import models as cloudwatch_models
from moto.cloudfront.exceptions import CloudFrontException


class InvalidationBatchAlreadyExists(CloudFrontException):
    def __init__(self) -> None:
        super().__init__(
            "InvalidationBatchAlreadyExists",
            "The CallerReference was used before with a different invalidation batch.",
        )

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    original = models.DefaultCacheBehaviour.__init__

    def __init__(self: Any, config: dict[str, Any]) -> None:
        original(self, config)
        for key, attribute in (
            ("FunctionAssociations", "function_associations"),
            ("LambdaFunctionAssociations", "lambda_function_associations"),
        ):
            given = config.get(key)
            if given:
                setattr(self, attribute, {"Quantity": len(given.get("Items") or []), **given})

    models.DefaultCacheBehaviour.__init__ = __init__

    create_invalidation = models.CloudFrontBackend.create_invalidation

    def create_invalidation_once(self: Any, dist_id: str, paths: list[str], caller_ref: str) -> Any:
        for existing in self.invalidations.get(dist_id) or []:
            if existing.caller_ref == caller_ref:
                if list(existing.paths) != list(paths):
                    raise InvalidationBatchAlreadyExists()
                return existing
        return create_invalidation(self, dist_id, paths, caller_ref)

    models.CloudFrontBackend.create_invalidation = create_invalidation_once

    statistic = cloudwatch_models.Statistics.get_statistics_for_type
    percentile = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        found = percentile.match(stat)
        if not found:
            return statistic(self, stat)
        samples = sorted(self.metric_single_values_list)
        if not samples:
            return None
        rank = max(1, math.ceil(float(found.group(1)) / 100 * len(samples)))
        return samples[min(rank, len(samples)) - 1]

    cloudwatch_models.Statistics.get_statistics_for_type = get_statistics_for_type
