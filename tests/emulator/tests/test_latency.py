"""The latency model: resources become ready only after the model's delays, and AWS's refusals
while they are not (botocore as the client)."""

import io
import time
import zipfile

import boto3
import botocore.exceptions
import pytest

from cfrp_emulator import latency
from conftest import LATENCY_SCALE


def _client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _after(figure):
    """Sleeps past the scaled figure."""
    time.sleep(latency.FIGURES[figure] * LATENCY_SCALE + 0.05)


def _zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    return buffer.getvalue()


def test_a_stream_is_creating_until_the_model_says_active(slow_endpoint):
    kinesis = _client("kinesis", slow_endpoint)
    kinesis.create_stream(StreamName="latency-stream", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    status = kinesis.describe_stream_summary(StreamName="latency-stream")["StreamDescriptionSummary"]["StreamStatus"]
    assert status == "CREATING"
    _after("kinesis_stream_active")
    status = kinesis.describe_stream_summary(StreamName="latency-stream")["StreamDescriptionSummary"]["StreamStatus"]
    assert status == "ACTIVE"


def test_a_new_role_cannot_be_assumed_at_once_and_a_new_function_is_pending(slow_endpoint):
    iam = _client("iam", slow_endpoint)
    lambda_ = _client("lambda", slow_endpoint)
    lambda_.list_functions()  # the client's first call loads its model: not inside the 0.1 s window
    code = _zip()
    role = iam.create_role(RoleName="latency-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    spec = dict(FunctionName="latency-fn", Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": code})
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        lambda_.create_function(**spec)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "role" in refused.value.response["Error"]["Message"]
    _after("iam_role_assumable")
    assert lambda_.create_function(**spec)["State"] == "Pending"
    with pytest.raises(botocore.exceptions.ClientError) as busy:
        lambda_.update_function_configuration(FunctionName="latency-fn", Timeout=10)
    assert busy.value.response["Error"]["Code"] == "ResourceConflictException"
    _after("lambda_active")
    assert lambda_.get_function_configuration(FunctionName="latency-fn")["State"] == "Active"
    lambda_.update_function_configuration(FunctionName="latency-fn", Timeout=10)
    assert lambda_.get_function_configuration(FunctionName="latency-fn")["LastUpdateStatus"] == "InProgress"
    _after("lambda_update")
    assert lambda_.get_function_configuration(FunctionName="latency-fn")["LastUpdateStatus"] == "Successful"


def test_a_deleted_queue_name_is_refused_for_the_model_time(slow_endpoint):
    sqs = _client("sqs", slow_endpoint)
    url = sqs.create_queue(QueueName="latency-queue")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sqs.create_queue(QueueName="latency-queue")
    assert "QueueDeletedRecently" in refused.value.response["Error"]["Code"]
    _after("queue_name_reusable")
    sqs.create_queue(QueueName="latency-queue")


def test_a_distribution_deploys_after_the_model_time_and_again_after_an_update(slow_endpoint):
    cloudfront = _client("cloudfront", slow_endpoint)
    config = {
        "CallerReference": "latency-dist",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    }
    created = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
    assert cloudfront.get_distribution(Id=created["Id"])["Distribution"]["Status"] == "InProgress"
    _after("distribution_deployed")
    got = cloudfront.get_distribution(Id=created["Id"])
    assert got["Distribution"]["Status"] == "Deployed"
    config["Enabled"] = False
    cloudfront.update_distribution(Id=created["Id"], IfMatch=got["ETag"], DistributionConfig=config)
    assert cloudfront.get_distribution(Id=created["Id"])["Distribution"]["Status"] == "InProgress"


def test_the_model_is_off_by_default(endpoint):
    kinesis = _client("kinesis", endpoint)
    kinesis.create_stream(StreamName="no-latency-stream", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    status = kinesis.describe_stream_summary(StreamName="no-latency-stream")["StreamDescriptionSummary"]["StreamStatus"]
    assert status == "ACTIVE"
