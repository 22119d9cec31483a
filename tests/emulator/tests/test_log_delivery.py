"""CloudWatch Logs log delivery for CloudFront's standard access logs (v2) through botocore:
what moto keeps, and the checks the emulator adds (log_delivery.py)."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def _logs(endpoint, region="us-east-1"):
    return boto3.client(
        "logs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def _refused(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"].get("Message", "")


def _pair(logs, output_format="json", destination_arn="arn:aws:s3:::access-logs/cloudfront"):
    name = f"src-{uuid.uuid4().hex[:8]}"
    logs.put_delivery_source(name=name, resourceArn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/E{uuid.uuid4().hex[:12].upper()}", logType="ACCESS_LOGS")
    destination = logs.put_delivery_destination(
        name=name,
        outputFormat=output_format,
        deliveryDestinationConfiguration={"destinationResourceArn": destination_arn},
    )["deliveryDestination"]
    return name, destination["arn"]


def test_a_delivery_reads_back_and_goes_before_its_source_and_destination(endpoint):
    logs = _logs(endpoint)
    name, destination_arn = _pair(logs)
    fields = ["date", "time", "sc-status", "cs-uri-stem"]
    delivery = logs.create_delivery(deliverySourceName=name, deliveryDestinationArn=destination_arn, recordFields=fields)["delivery"]
    assert delivery["recordFields"] == fields
    source = logs.get_delivery_source(name=name)["deliverySource"]
    assert (source["logType"], source["service"]) == ("ACCESS_LOGS", "cloudfront")
    destination = logs.get_delivery_destination(name=name)["deliveryDestination"]
    assert destination["outputFormat"] == "json"
    assert destination["deliveryDestinationType"] == "S3"

    # A second delivery of the same pair is moto's own ConflictException.
    assert _refused(lambda: logs.create_delivery(deliverySourceName=name, deliveryDestinationArn=destination_arn))[0] == "ConflictException"
    # Neither end goes while the delivery uses it.
    assert _refused(lambda: logs.delete_delivery_source(name=name))[0] == "ConflictException"
    assert _refused(lambda: logs.delete_delivery_destination(name=name))[0] == "ConflictException"
    logs.delete_delivery(id=delivery["id"])
    logs.delete_delivery_destination(name=name)
    logs.delete_delivery_source(name=name)
    assert _refused(lambda: logs.get_delivery_source(name=name))[0] == "ResourceNotFoundException"
    assert _refused(lambda: logs.get_delivery_destination(name=name))[0] == "ResourceNotFoundException"


def test_record_fields_must_be_cloudfront_access_log_fields(endpoint):
    logs = _logs(endpoint)
    name, destination_arn = _pair(logs)
    code, message = _refused(
        lambda: logs.create_delivery(deliverySourceName=name, deliveryDestinationArn=destination_arn, recordFields=["date", "sc-statuss"])
    )
    assert code == "ValidationException"
    assert "sc-statuss" in message
    assert all(d["deliverySourceName"] != name for d in logs.describe_deliveries()["deliveries"])


def test_parquet_is_for_s3_only(endpoint):
    logs = _logs(endpoint)
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/vendedlogs/cloudfront/{uuid.uuid4().hex[:8]}"
    name, destination_arn = _pair(logs, output_format="parquet", destination_arn=group)
    code, message = _refused(lambda: logs.create_delivery(deliverySourceName=name, deliveryDestinationArn=destination_arn))
    assert code == "ValidationException"
    assert "parquet" in message
    s3_name, s3_destination = _pair(logs, output_format="parquet")
    assert logs.create_delivery(deliverySourceName=s3_name, deliveryDestinationArn=s3_destination)["delivery"]["id"]


def test_cloudfront_sources_live_in_us_east_1(endpoint):
    logs = _logs(endpoint, region="eu-west-1")
    code, message = _refused(
        lambda: logs.put_delivery_source(name="elsewhere", resourceArn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/EABCDEF", logType="ACCESS_LOGS")
    )
    assert code == "ValidationException"
    assert "us-east-1" in message
    # The log type is checked by moto itself.
    code, _ = _refused(
        lambda: _logs(endpoint).put_delivery_source(name="wrong-type", resourceArn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/EABCDEF", logType="APPLICATION_LOGS")
    )
    assert code == "ValidationException"
