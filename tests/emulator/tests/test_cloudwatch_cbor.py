"""CloudWatch through the CBOR bridge, driven by botocore's own RPCv2 CBOR client."""

from __future__ import annotations

import datetime as dt
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture()
def cloudwatch(endpoint):
    client = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))
    assert client.meta.service_model.protocol == "smithy-rpc-v2-cbor"
    return client


def test_put_and_get_metric_data_with_values_and_counts(cloudwatch):
    namespace = f"Test/{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": "TimeTaken", "Timestamp": now, "Values": [10.0, 20.0], "Counts": [3.0, 1.0], "Unit": "Milliseconds"}],
    )
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m1", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "TimeTaken"}, "Period": 60, "Stat": "SampleCount"}}],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=5),
    )
    series = result["MetricDataResults"][0]
    assert series["Values"] == [4.0]
    assert series["Timestamps"][0] == now


def test_errors_come_back_as_cbor_with_their_code(cloudwatch):
    with pytest.raises(ClientError) as err:
        cloudwatch.get_dashboard(DashboardName=f"missing-{uuid.uuid4().hex[:8]}")
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_percentiles_come_from_values_and_counts(cloudwatch):
    namespace = f"Test/{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    # 90 samples of 10 ms, 9 of 100 ms, 1 of 1000 ms.
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": "TimeTaken", "Timestamp": now, "Values": [10.0, 100.0, 1000.0], "Counts": [90.0, 9.0, 1.0]}],
    )

    def stat(name):
        result = cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "TimeTaken"}, "Period": 60, "Stat": name}}],
            StartTime=now - dt.timedelta(minutes=1),
            EndTime=now + dt.timedelta(minutes=1),
        )
        return result["MetricDataResults"][0]["Values"]

    assert stat("p50") == [10.0]
    assert stat("p90") == [10.0]
    assert stat("p95") == [100.0]
    assert stat("p99.9") == [1000.0]
    assert stat("SampleCount") == [100.0]


def test_waf_metrics_put_in_us_east_1_are_read_there_only(endpoint):
    """AWS/WAFV2 datums as WAF publishes them for a CLOUDFRONT-scope web ACL (us-east-1,
    dimensions WebACL and Rule, no Region): GetMetricData in us-east-1 answers each rule's
    series by its full dimension set, named in another order than the datums' (moto's own
    dimension ordering missed that: moto_patches); another region has none of it."""

    def client(region):
        return boto3.client("cloudwatch", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))

    us_east_1, eu_west_1 = client("us-east-1"), client("eu-west-1")
    acl = f"cfrp-{uuid.uuid4().hex[:8]}-web-acl"
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)

    def datum(rule, value):
        return {"MetricName": "BlockedRequests", "Dimensions": [{"Name": "Rule", "Value": rule}, {"Name": "WebACL", "Value": acl}], "Timestamp": now, "Value": value, "Unit": "Count"}

    us_east_1.put_metric_data(Namespace="AWS/WAFV2", MetricData=[datum("ALL", 60.0), datum("rate-limit", 45.0), datum("block-list", 15.0)])

    def blocked(cloudwatch, rule):
        result = cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": "AWS/WAFV2", "MetricName": "BlockedRequests", "Dimensions": [{"Name": "WebACL", "Value": acl}, {"Name": "Rule", "Value": rule}]}, "Period": 60, "Stat": "Sum"}}],
            StartTime=now - dt.timedelta(minutes=2),
            EndTime=now + dt.timedelta(minutes=2),
        )
        return result["MetricDataResults"][0]["Values"]

    assert blocked(us_east_1, "ALL") == [60.0]
    assert blocked(us_east_1, "rate-limit") == [45.0]
    assert blocked(us_east_1, "block-list") == [15.0]
    assert blocked(us_east_1, "AWSManagedRulesCommonRuleSet") == []
    assert blocked(eu_west_1, "ALL") == []
