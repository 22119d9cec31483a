"""The request log: `GET /_cfrp/requests` counts every AWS request by `service:Operation`, the
names of the service models, whatever the protocol (query, JSON, REST-XML, REST-JSON)."""

from __future__ import annotations

import json
import urllib.request

import boto3
from botocore.config import Config


def _log(endpoint: str) -> dict:
    with urllib.request.urlopen(f"{endpoint}/_cfrp/requests", timeout=10) as answer:
        return json.load(answer)


def _client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def test_each_request_is_counted_by_its_service_and_operation(endpoint):
    before = _log(endpoint)
    sqs, s3, cloudfront, lambda_ = (_client(s, endpoint) for s in ("sqs", "s3", "cloudfront", "lambda"))
    sqs.create_queue(QueueName="request-log")
    sqs.get_queue_url(QueueName="request-log")
    s3.create_bucket(Bucket="request-log", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.list_objects_v2(Bucket="request-log")
    cloudfront.list_distributions()
    lambda_.list_event_source_mappings()
    after = _log(endpoint)

    def grew(name: str) -> int:
        return after["operations"].get(name, 0) - before["operations"].get(name, 0)

    for name in ("sqs:CreateQueue", "sqs:GetQueueUrl", "s3:CreateBucket", "s3:ListObjectsV2", "cloudfront:ListDistributions", "lambda:ListEventSourceMappings"):
        assert grew(name) == 1, (name, after["operations"])
    assert after["requests"] - before["requests"] == 6
    assert sum(after["operations"].values()) == after["requests"]
