"""CloudFront monitoring subscriptions (additional metrics) through botocore: the routes,
shapes and errors of the CloudFront API reference."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

ENABLED = {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "Enabled"}}


def _distribution(cloudfront) -> str:
    config = {
        "CallerReference": f"metrics-{uuid.uuid4()}",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def _refused(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_subscription_lifecycle(cloudfront):
    dist = _distribution(cloudfront)
    assert _refused(lambda: cloudfront.get_monitoring_subscription(DistributionId=dist)) == ("NoSuchMonitoringSubscription", 404)

    created = cloudfront.create_monitoring_subscription(DistributionId=dist, MonitoringSubscription=ENABLED)
    assert created["MonitoringSubscription"] == ENABLED
    assert cloudfront.get_monitoring_subscription(DistributionId=dist)["MonitoringSubscription"] == ENABLED
    assert _refused(lambda: cloudfront.create_monitoring_subscription(DistributionId=dist, MonitoringSubscription=ENABLED)) == (
        "MonitoringSubscriptionAlreadyExists",
        409,
    )

    cloudfront.delete_monitoring_subscription(DistributionId=dist)
    assert _refused(lambda: cloudfront.get_monitoring_subscription(DistributionId=dist)) == ("NoSuchMonitoringSubscription", 404)
    assert _refused(lambda: cloudfront.delete_monitoring_subscription(DistributionId=dist)) == ("NoSuchMonitoringSubscription", 404)

    disabled = {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "Disabled"}}
    cloudfront.create_monitoring_subscription(DistributionId=dist, MonitoringSubscription=disabled)
    assert cloudfront.get_monitoring_subscription(DistributionId=dist)["MonitoringSubscription"] == disabled


def test_unknown_distribution_is_no_such_distribution(cloudfront):
    for call in (
        lambda: cloudfront.create_monitoring_subscription(DistributionId="E000000000000", MonitoringSubscription=ENABLED),
        lambda: cloudfront.get_monitoring_subscription(DistributionId="E000000000000"),
        lambda: cloudfront.delete_monitoring_subscription(DistributionId="E000000000000"),
    ):
        assert _refused(call) == ("NoSuchDistribution", 404)


def test_status_outside_the_enum_is_refused(cloudfront):
    dist = _distribution(cloudfront)
    bad = {"RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "Sometimes"}}
    code, status = _refused(lambda: cloudfront.create_monitoring_subscription(DistributionId=dist, MonitoringSubscription=bad))
    assert status == 400, code
    assert _refused(lambda: cloudfront.get_monitoring_subscription(DistributionId=dist)) == ("NoSuchMonitoringSubscription", 404)
