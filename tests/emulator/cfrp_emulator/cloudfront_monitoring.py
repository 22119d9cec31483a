"""CloudFront monitoring subscriptions (a distribution's additional CloudWatch metrics), which
moto lacks: Create/Get/DeleteMonitoringSubscription, served by the CloudFront extension.

Faithful to the CloudFront API reference and the botocore model: the subscription lives at
`/2020-05-31/distributions/{DistributionId}/monitoring-subscription`; every operation answers
NoSuchDistribution (404) for an unknown distribution; Create answers
MonitoringSubscriptionAlreadyExists (409) when the distribution has one already; Get and
Delete answer NoSuchMonitoringSubscription (404) when it has none. The status enum
(Enabled, Disabled) and the required members are checked against the model before a handler
runs. A subscription goes with its distribution.
"""

from __future__ import annotations

from typing import Any

OPERATIONS = [
    "CreateMonitoringSubscription",
    "GetMonitoringSubscription",
    "DeleteMonitoringSubscription",
]


def _error(code: str, message: str) -> Exception:
    from .cloudfront_ext import ApiError

    return ApiError(code, message)


class MonitoringSubscriptions:
    """Mixed into the CloudFront extension: needs its `distributions()` (moto's distributions)."""

    def _subscriptions(self) -> dict[str, dict[str, Any]]:
        subscriptions = self.__dict__.setdefault("monitoring_subscriptions", {})
        # A deleted distribution takes its subscription with it.
        live = {d.distribution_id for d in self.distributions()}
        for gone in [d for d in subscriptions if d not in live]:
            del subscriptions[gone]
        return subscriptions

    def _subscription_distribution(self, p: dict[str, Any]) -> str:
        distribution_id = p["DistributionId"]
        if distribution_id not in {d.distribution_id for d in self.distributions()}:
            raise _error("NoSuchDistribution", "The specified distribution does not exist.")
        return distribution_id

    def op_CreateMonitoringSubscription(self, p: dict[str, Any]) -> dict[str, Any]:
        distribution_id = self._subscription_distribution(p)
        subscriptions = self._subscriptions()
        if distribution_id in subscriptions:
            raise _error("MonitoringSubscriptionAlreadyExists", "A monitoring subscription already exists for the specified distribution.")
        config = (p.get("MonitoringSubscription") or {}).get("RealtimeMetricsSubscriptionConfig")
        if config is None:
            raise _error("InvalidArgument", "MonitoringSubscription.RealtimeMetricsSubscriptionConfig is required")
        subscription = {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": config["RealtimeMetricsSubscriptionStatus"]}}
        subscriptions[distribution_id] = subscription
        return {"MonitoringSubscription": subscription}

    def op_GetMonitoringSubscription(self, p: dict[str, Any]) -> dict[str, Any]:
        distribution_id = self._subscription_distribution(p)
        subscription = self._subscriptions().get(distribution_id)
        if subscription is None:
            raise _error("NoSuchMonitoringSubscription", "A monitoring subscription does not exist for the specified distribution.")
        return {"MonitoringSubscription": subscription}

    def op_DeleteMonitoringSubscription(self, p: dict[str, Any]) -> dict[str, Any]:
        distribution_id = self._subscription_distribution(p)
        subscriptions = self._subscriptions()
        if distribution_id not in subscriptions:
            raise _error("NoSuchMonitoringSubscription", "A monitoring subscription does not exist for the specified distribution.")
        del subscriptions[distribution_id]
        return {}
