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
