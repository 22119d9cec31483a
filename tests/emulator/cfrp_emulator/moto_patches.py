"""Small corrections to moto's CloudFront distribution model.

moto 5.2 drops a cache behaviour's FunctionAssociations and LambdaFunctionAssociations
(it stores `{"Quantity": 0}` whatever the request said). CloudFront keeps them and returns them
from GetDistribution/GetDistributionConfig, and the deployer reads them back to converge, so the
emulator keeps what the request carried.
"""

from __future__ import annotations

from typing import Any

from moto.cloudfront import models

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
