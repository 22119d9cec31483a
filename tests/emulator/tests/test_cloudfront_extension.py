"""The CloudFront extension through botocore: shapes, ETags, validation and errors as the
CloudFront API reference describes them."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/cf-logs"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/logs"


def _code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def _endpoints():
    return [{"StreamType": "Kinesis", "KinesisStreamConfig": {"RoleARN": ROLE, "StreamARN": STREAM}}]


def test_realtime_log_config_lifecycle(cloudfront):
    name = f"rt-{uuid.uuid4().hex[:8]}"
    created = cloudfront.create_realtime_log_config(Name=name, SamplingRate=50, Fields=["timestamp", "c-ip", "sc-status"], EndPoints=_endpoints())
    config = created["RealtimeLogConfig"]
    assert config["ARN"].endswith(f":realtime-log-config/{name}")
    assert config["Fields"] == ["timestamp", "c-ip", "sc-status"]
    assert cloudfront.get_realtime_log_config(Name=name)["RealtimeLogConfig"]["SamplingRate"] == 50
    assert cloudfront.get_realtime_log_config(ARN=config["ARN"])["RealtimeLogConfig"]["Name"] == name

    updated = cloudfront.update_realtime_log_config(Name=name, SamplingRate=100, Fields=["timestamp", "time-taken"], EndPoints=_endpoints())
    assert updated["RealtimeLogConfig"]["Fields"] == ["timestamp", "time-taken"]
    listed = cloudfront.list_realtime_log_configs()["RealtimeLogConfigs"]
    assert name in [c["Name"] for c in listed.get("Items", [])]

    with pytest.raises(ClientError) as err:
        cloudfront.create_realtime_log_config(Name=name, SamplingRate=1, Fields=["timestamp"], EndPoints=_endpoints())
    assert _code(err.value) == "RealtimeLogConfigAlreadyExists"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    cloudfront.delete_realtime_log_config(Name=name)
    with pytest.raises(ClientError) as err:
        cloudfront.get_realtime_log_config(Name=name)
    assert _code(err.value) == "NoSuchRealtimeLogConfig"


@pytest.mark.parametrize(
    "rate, fields, endpoints, words",
    [
        (0, ["timestamp"], None, "SamplingRate"),
        (101, ["timestamp"], None, "SamplingRate"),
        (10, ["timestamp", "no-such-field"], None, "no-such-field"),
        (10, ["timestamp", "timestamp"], None, "repeat"),
        (10, ["timestamp"], [{"StreamType": "Firehose", "KinesisStreamConfig": {"RoleARN": ROLE, "StreamARN": STREAM}}], "Kinesis"),
        (10, ["timestamp"], [{"StreamType": "Kinesis", "KinesisStreamConfig": {"RoleARN": "role", "StreamARN": STREAM}}], "RoleARN"),
    ],
)
def test_realtime_log_config_validation(cloudfront, rate, fields, endpoints, words):
    with pytest.raises(ClientError) as err:
        cloudfront.create_realtime_log_config(Name=f"bad-{uuid.uuid4().hex[:8]}", SamplingRate=rate, Fields=fields, EndPoints=endpoints or _endpoints())
    assert _code(err.value) == "InvalidArgument"
    assert words in err.value.response["Error"]["Message"]


def test_realtime_log_config_in_use_cannot_be_deleted(cloudfront):
    name = f"used-{uuid.uuid4().hex[:8]}"
    arn = cloudfront.create_realtime_log_config(Name=name, SamplingRate=100, Fields=["timestamp"], EndPoints=_endpoints())["RealtimeLogConfig"]["ARN"]
    cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": name,
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "app.example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "RealtimeLogConfigArn": arn},
        }
    )
    with pytest.raises(ClientError) as err:
        cloudfront.delete_realtime_log_config(Name=name)
    assert _code(err.value) == "RealtimeLogConfigInUse"


def test_function_stages_etags_and_publish(cloudfront):
    name = f"fn-{uuid.uuid4().hex[:8]}"
    code = b"function handler(event) { return event.request; }"
    created = cloudfront.create_function(Name=name, FunctionConfig={"Comment": "c", "Runtime": "cloudfront-js-2.0"}, FunctionCode=code)
    assert created["FunctionSummary"]["Status"] == "UNPUBLISHED"
    assert created["FunctionSummary"]["FunctionMetadata"]["Stage"] == "DEVELOPMENT"
    etag = created["ETag"]

    with pytest.raises(ClientError) as err:
        cloudfront.describe_function(Name=name, Stage="LIVE")
    assert _code(err.value) == "NoSuchFunctionExists"

    with pytest.raises(ClientError) as err:
        cloudfront.publish_function(Name=name, IfMatch="WRONG")
    assert _code(err.value) == "PreconditionFailed"

    published = cloudfront.publish_function(Name=name, IfMatch=etag)
    assert published["FunctionSummary"]["FunctionMetadata"]["Stage"] == "LIVE"
    live = cloudfront.describe_function(Name=name, Stage="LIVE")
    assert live["FunctionSummary"]["Status"] == "UNASSOCIATED"
    assert cloudfront.get_function(Name=name, Stage="LIVE")["FunctionCode"].read() == code

    new_code = code.replace(b"return", b"/* v2 */ return")
    cloudfront.update_function(Name=name, IfMatch=etag, FunctionConfig={"Comment": "c2", "Runtime": "cloudfront-js-2.0"}, FunctionCode=new_code)
    development = cloudfront.describe_function(Name=name)
    assert development["ETag"] != etag
    assert development["FunctionSummary"]["Status"] == "UNPUBLISHED"
    # LIVE keeps the published code until the next publish.
    assert cloudfront.get_function(Name=name, Stage="LIVE")["FunctionCode"].read() == code
    assert {f["Name"] for f in cloudfront.list_functions(Stage="LIVE")["FunctionList"]["Items"]} >= {name}

    with pytest.raises(ClientError) as err:
        cloudfront.delete_function(Name=name, IfMatch="WRONG")
    assert _code(err.value) == "PreconditionFailed"
    cloudfront.delete_function(Name=name, IfMatch=development["ETag"])
    with pytest.raises(ClientError) as err:
        cloudfront.describe_function(Name=name)
    assert _code(err.value) == "NoSuchFunctionExists"


def test_function_validation(cloudfront):
    with pytest.raises(ClientError) as err:
        cloudfront.create_function(Name="big", FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"}, FunctionCode=b"x" * 10241)
    assert _code(err.value) == "FunctionSizeLimitExceeded"


def test_managed_policies_are_present_and_read_only(cloudfront):
    disabled = cloudfront.get_cache_policy(Id="4135ea2d-6df8-44a3-9df3-4b5a84be39ad")["CachePolicy"]
    assert disabled["CachePolicyConfig"]["Name"] == "Managed-CachingDisabled"
    assert disabled["CachePolicyConfig"]["MaxTTL"] == 0
    managed = cloudfront.list_cache_policies(Type="managed")["CachePolicyList"]
    assert "658327ea-f89d-4fab-a63d-7e88639e58f6" in [i["CachePolicy"]["Id"] for i in managed["Items"]]
    orp = cloudfront.get_origin_request_policy(Id="b689b0a8-53d0-40ab-baf2-68738e2966ac")["OriginRequestPolicy"]
    assert orp["OriginRequestPolicyConfig"]["HeadersConfig"]["HeaderBehavior"] == "allExcept"
    rhp = cloudfront.get_response_headers_policy(Id="67f7725c-6f97-4210-82d7-5512b31e9d03")["ResponseHeadersPolicy"]
    assert rhp["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentTypeOptions"]["Override"] is True
    with pytest.raises(ClientError) as err:
        cloudfront.delete_cache_policy(Id="4135ea2d-6df8-44a3-9df3-4b5a84be39ad", IfMatch="E23ZP02F085DFQ")
    assert _code(err.value) == "IllegalDelete"


def _cache_config(name, default_ttl=3600, quantity=1):
    return {
        "Name": name,
        "MinTTL": 0,
        "DefaultTTL": default_ttl,
        "MaxTTL": 86400,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True,
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": quantity, "Items": ["X-Signature-Id"]}},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        },
    }


def test_custom_cache_policy_lifecycle_and_validation(cloudfront):
    name = f"cp-{uuid.uuid4().hex[:8]}"
    created = cloudfront.create_cache_policy(CachePolicyConfig=_cache_config(name))
    policy_id, etag = created["CachePolicy"]["Id"], created["ETag"]
    assert created["Location"].endswith(policy_id)

    with pytest.raises(ClientError) as err:
        cloudfront.create_cache_policy(CachePolicyConfig=_cache_config(name))
    assert _code(err.value) == "CachePolicyAlreadyExists"
    with pytest.raises(ClientError) as err:
        cloudfront.create_cache_policy(CachePolicyConfig=_cache_config(name + "x", default_ttl=999999))
    assert _code(err.value) == "InvalidArgument"
    with pytest.raises(ClientError) as err:
        cloudfront.create_cache_policy(CachePolicyConfig=_cache_config(name + "y", quantity=2))
    assert _code(err.value) == "InconsistentQuantities"

    with pytest.raises(ClientError) as err:
        cloudfront.update_cache_policy(Id=policy_id, IfMatch="stale", CachePolicyConfig=_cache_config(name, 60))
    assert _code(err.value) == "PreconditionFailed"
    updated = cloudfront.update_cache_policy(Id=policy_id, IfMatch=etag, CachePolicyConfig=_cache_config(name, 60))
    assert updated["CachePolicy"]["CachePolicyConfig"]["DefaultTTL"] == 60
    assert cloudfront.get_cache_policy_config(Id=policy_id)["CachePolicyConfig"]["DefaultTTL"] == 60
    cloudfront.delete_cache_policy(Id=policy_id, IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as err:
        cloudfront.get_cache_policy(Id=policy_id)
    assert _code(err.value) == "NoSuchCachePolicy"


def test_moto_still_serves_the_rest_of_cloudfront(cloudfront):
    assert "DistributionList" in cloudfront.list_distributions()


def test_injected_faults_answer_once_then_clear(cloudfront, endpoint):
    import json
    import urllib.request

    body = '<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>TooManyInvalidationsInProgress</Code><Message>slow down</Message></Error></ErrorResponse>'
    fault = {"method": "GET", "path": "/2020-05-31/distribution$", "status": 400, "body": body, "times": 1}
    request = urllib.request.Request(f"{endpoint}/_cfrp/faults", data=json.dumps(fault).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    with pytest.raises(ClientError) as err:
        cloudfront.list_distributions()
    assert _code(err.value) == "TooManyInvalidationsInProgress"
    assert "DistributionList" in cloudfront.list_distributions()
    held = json.loads(urllib.request.urlopen(f"{endpoint}/_cfrp/faults", timeout=10).read())
    assert [f["times"] for f in held] == [0]
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_cfrp/faults", method="DELETE"), timeout=10).read()
    assert json.loads(urllib.request.urlopen(f"{endpoint}/_cfrp/faults", timeout=10).read()) == []


def test_invalidation_caller_reference_is_idempotent(cloudfront):
    dist = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": f"inv-{uuid.uuid4().hex[:8]}",
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "app.example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
        }
    )["Distribution"]["Id"]
    batch = {"Paths": {"Quantity": 1, "Items": ["/a.html"]}, "CallerReference": "ref-1"}
    first = cloudfront.create_invalidation(DistributionId=dist, InvalidationBatch=batch)["Invalidation"]["Id"]
    again = cloudfront.create_invalidation(DistributionId=dist, InvalidationBatch=batch)["Invalidation"]["Id"]
    assert first == again
    assert cloudfront.list_invalidations(DistributionId=dist)["InvalidationList"]["Quantity"] == 1
    with pytest.raises(ClientError) as err:
        cloudfront.create_invalidation(DistributionId=dist, InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/b.html"]}, "CallerReference": "ref-1"})
    assert _code(err.value) == "InvalidationBatchAlreadyExists"
