"""The emulator's fault modes and moto corrections the deployer relies on."""

import json
import urllib.request

import boto3
import botocore.exceptions
import botocore.parsers
import pytest


def _client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _faults(endpoint, method, fault=None):
    data = json.dumps(fault).encode() if fault is not None else None
    request = urllib.request.Request(f"{endpoint}/_cfrp/faults", data=data, method=method)
    urllib.request.urlopen(request, timeout=10).read()


def test_mutating_after_lets_n_changes_through_then_fails_every_change_but_no_read(endpoint):
    sqs = _client("sqs", endpoint)
    iam = _client("iam", endpoint)
    _faults(endpoint, "POST", {"mutating_after": 2})
    try:
        sqs.create_queue(QueueName="faults-a")  # 1st change (JSON protocol, X-Amz-Target)
        sqs.list_queues()  # reads never count
        iam.create_role(RoleName="faults-r", AssumeRolePolicyDocument="{}")  # 2nd (query protocol)
        iam.get_role(RoleName="faults-r")  # read through the form-body Action
        with pytest.raises(botocore.exceptions.ClientError):
            sqs.create_queue(QueueName="faults-b")
        # The injected body is JSON; an XML-protocol client fails to parse it, which is still
        # a failed call (the point of the fault).
        with pytest.raises((botocore.exceptions.ClientError, botocore.parsers.ResponseParserError)):
            iam.delete_role(RoleName="faults-r")
    finally:
        _faults(endpoint, "DELETE")
    iam.delete_role(RoleName="faults-r")
    assert not any(u.endswith("/faults-b") for u in sqs.list_queues().get("QueueUrls", []))


def test_empty_bucket_notification_is_a_notification_configuration_document(endpoint):
    s3 = _client("s3", endpoint)
    s3.create_bucket(Bucket="patch-empty-notification")
    raw = urllib.request.urlopen(f"{endpoint}/patch-empty-notification?notification", timeout=10).read()
    assert b"<NotificationConfiguration" in raw
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="patch-empty-notification")


def test_bucket_versioning_is_a_versioning_configuration_document(endpoint):
    s3 = _client("s3", endpoint)
    s3.create_bucket(Bucket="patch-versioning")
    raw = urllib.request.urlopen(f"{endpoint}/patch-versioning?versioning", timeout=10).read()
    assert b"<VersioningConfiguration" in raw and b"<Status>" not in raw
    assert "Status" not in s3.get_bucket_versioning(Bucket="patch-versioning")
    s3.put_bucket_versioning(Bucket="patch-versioning", VersioningConfiguration={"Status": "Enabled"})
    raw = urllib.request.urlopen(f"{endpoint}/patch-versioning?versioning", timeout=10).read()
    assert b"<VersioningConfiguration" in raw and b"<Status>Enabled</Status>" in raw
    assert s3.get_bucket_versioning(Bucket="patch-versioning")["Status"] == "Enabled"


def test_distribution_update_needs_the_current_etag_and_delete_needs_disabled(cloudfront):
    config = {
        "CallerReference": "patch-etag",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    }
    created = cloudfront.create_distribution(DistributionConfig=config)
    dist_id, etag = created["Distribution"]["Id"], created["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as stale:
        cloudfront.update_distribution(Id=dist_id, IfMatch="not-the-etag", DistributionConfig=config)
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    updated = cloudfront.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config)
    assert updated["ETag"] != etag
    with pytest.raises(botocore.exceptions.ClientError) as enabled:
        cloudfront.delete_distribution(Id=dist_id, IfMatch=updated["ETag"])
    assert enabled.value.response["Error"]["Code"] == "DistributionNotDisabled"
    disabled = cloudfront.update_distribution(Id=dist_id, IfMatch=updated["ETag"], DistributionConfig={**config, "Enabled": False})
    cloudfront.delete_distribution(Id=dist_id, IfMatch=disabled["ETag"])


def test_invalidation_is_in_progress_when_created_and_on_first_read_then_completed(cloudfront):
    config = {
        "CallerReference": "patch-invalidation-status",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    }
    dist_id = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "status-1"}
    created = cloudfront.create_invalidation(DistributionId=dist_id, InvalidationBatch=batch)
    invalidation_id = created["Invalidation"]["Id"]
    assert created["Invalidation"]["Status"] == "InProgress"
    first = cloudfront.get_invalidation(DistributionId=dist_id, Id=invalidation_id)
    assert first["Invalidation"]["Status"] == "InProgress"
    second = cloudfront.get_invalidation(DistributionId=dist_id, Id=invalidation_id)
    assert second["Invalidation"]["Status"] == "Completed"
    third = cloudfront.get_invalidation(DistributionId=dist_id, Id=invalidation_id)
    assert third["Invalidation"]["Status"] == "Completed"
    # The same CallerReference and paths return the same invalidation, as it is now.
    again = cloudfront.create_invalidation(DistributionId=dist_id, InvalidationBatch=batch)
    assert again["Invalidation"]["Id"] == invalidation_id
    assert again["Invalidation"]["Status"] == "Completed"
    listed = cloudfront.list_invalidations(DistributionId=dist_id)["InvalidationList"]["Items"]
    assert [(i["Id"], i["Status"]) for i in listed] == [(invalidation_id, "Completed")]


def test_bucket_policy_conditions_decide_whether_a_statement_applies(endpoint):
    import json as _json
    import uuid as _uuid

    import boto3 as _boto3
    from botocore.config import Config as _Config
    from botocore.exceptions import ClientError as _ClientError

    s3 = _boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=_Config(s3={"addressing_style": "path"}),
    )

    def policy(bucket, secure):
        return _json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": secure}},
        }]})

    # The TLS-only statement: the emulator stands for AWS's HTTPS endpoints, so it does not apply.
    tls_only = f"tls-only-{_uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=tls_only)
    s3.put_bucket_policy(Bucket=tls_only, Policy=policy(tls_only, "false"))
    s3.put_object(Bucket=tls_only, Key="k", Body=b"x")
    # A Deny whose condition holds still denies.
    denying = f"deny-tls-{_uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=denying)
    s3.put_bucket_policy(Bucket=denying, Policy=policy(denying, "true"))
    try:
        s3.put_object(Bucket=denying, Key="k", Body=b"x")
        raise AssertionError("a Deny whose condition holds must deny")
    except _ClientError as err:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_set_queue_attributes_changes_only_what_it_names_and_an_empty_key_removes_it(endpoint):
    sqs = _client("sqs", endpoint)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*"}]})
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    url = sqs.create_queue(
        QueueName="patch-keeps-policy",
        Attributes={"Policy": policy, "KmsMasterKeyId": key, "SqsManagedSseEnabled": "false"},
    )["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["Policy"]) == json.loads(policy)
    assert attributes["KmsMasterKeyId"] == key
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "", "SqsManagedSseEnabled": "true"})
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "KmsMasterKeyId" not in attributes
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert json.loads(attributes["Policy"]) == json.loads(policy)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "Policy" not in attributes
