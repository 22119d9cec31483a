"""PutMetricData refused as CloudWatch refuses it, through the CBOR bridge, with botocore's own
client-side checks off so each request reaches the emulator as sent."""

from __future__ import annotations

import datetime as dt
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture()
def cloudwatch(endpoint):
    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def _now():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _datum(**overrides):
    datum = {"MetricName": "Requests", "Timestamp": _now(), "Value": 1.0, "Dimensions": [{"Name": "Distribution", "Value": "d1.cloudfront.net"}]}
    datum.update(overrides)
    return datum


def _refused(cloudwatch, *datums):
    with pytest.raises(ClientError) as err:
        cloudwatch.put_metric_data(Namespace=f"Test/{uuid.uuid4().hex[:8]}", MetricData=list(datums))
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    return err.value.response["Error"]["Message"]


def test_a_valid_request_is_accepted(cloudwatch):
    cloudwatch.put_metric_data(Namespace=f"Test/{uuid.uuid4().hex[:8]}", MetricData=[_datum()])


@pytest.mark.parametrize(
    "value, why",
    [
        ("caf\u00e9", "only ASCII"),
        ("   ", "non-whitespace"),
        ("\t", "non-whitespace"),
        # The model's own length limits (Dimension.Value: 1-1024) are refused by model_validation
        # first, in CloudWatch's wording ("must be shorter than 257 characters" was its answer
        # when the limit was 256).
        ("", "must be longer than 0 characters"),
        ("x" * 1025, "must be shorter than 1025 characters"),
    ],
)
def test_dimension_values_must_be_ascii_non_blank_and_at_most_1024_characters(cloudwatch, value, why):
    message = _refused(cloudwatch, _datum(), _datum(Dimensions=[{"Name": "Header", "Value": value}]))
    assert why in message
    assert "MetricData.member.2.Dimensions.member.1.Value" in message


def test_names_are_at_most_255_characters(cloudwatch):
    assert "MetricName" in _refused(cloudwatch, _datum(MetricName="m" * 256))
    assert "Name" in _refused(cloudwatch, _datum(Dimensions=[{"Name": "n" * 256, "Value": "v"}]))


def test_at_most_30_dimensions(cloudwatch):
    dims = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
    assert "Dimensions" in _refused(cloudwatch, _datum(Dimensions=dims))


def test_values_and_counts_have_the_same_length_and_at_most_150_values(cloudwatch):
    base = _datum()
    del base["Value"]
    assert "same length" in _refused(cloudwatch, {**base, "Values": [1.0, 2.0], "Counts": [1.0]})
    many = [float(i) for i in range(151)]
    assert "Values" in _refused(cloudwatch, {**base, "Values": many, "Counts": [1.0] * 151})


def test_nan_and_infinity_are_refused(cloudwatch):
    assert "NaN or Infinity" in _refused(cloudwatch, _datum(Value=float("nan")))
    assert "NaN or Infinity" in _refused(cloudwatch, _datum(Value=float("inf")))


def test_timestamps_at_most_two_weeks_old_or_two_hours_ahead(cloudwatch):
    assert "two weeks" in _refused(cloudwatch, _datum(Timestamp=_now() - dt.timedelta(days=15)))
    assert "two hours" in _refused(cloudwatch, _datum(Timestamp=_now() + dt.timedelta(hours=3)))


def test_at_most_1000_datums(cloudwatch):
    assert "1000" in _refused(cloudwatch, *[_datum() for _ in range(1001)])
