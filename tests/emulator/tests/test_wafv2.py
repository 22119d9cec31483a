"""WAFv2 (scope CLOUDFRONT) as AWS answers it: us-east-1 only, lock tokens, rules replaced
whole, nothing deleted that is still used, the model's checks (wafv2_ext.py, model_validation.py)."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def _client(endpoint, region="us-east-1", **config):
    return boto3.client(
        "wafv2",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, **config),
    )


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"}


def _code(err):
    return err.value.response["Error"]["Code"]


def _ip_set(waf, name=None, addresses=("198.51.100.7/32",)):
    return waf.create_ip_set(Name=name or _name("set"), Scope="CLOUDFRONT", IPAddressVersion="IPV4", Addresses=list(addresses), Description="test set")["Summary"]


def _rule(arn, priority=0):
    return {
        "Name": f"r{priority}",
        "Priority": priority,
        "Statement": {"IPSetReferenceStatement": {"ARN": arn}},
        "Action": {"Block": {}},
        "VisibilityConfig": VISIBILITY,
    }


def _acl(waf, rules, name=None):
    return waf.create_web_acl(Name=name or _name("acl"), Scope="CLOUDFRONT", DefaultAction={"Allow": {}}, Rules=rules, VisibilityConfig=VISIBILITY, Description="test acl")["Summary"]


def test_cloudfront_scope_only_in_us_east_1(endpoint):
    waf = _client(endpoint, region="eu-west-1")
    with pytest.raises(ClientError) as err:
        waf.list_web_acls(Scope="CLOUDFRONT")
    assert _code(err) == "WAFInvalidParameterException"
    assert "The scope is not valid., field: SCOPE_VALUE, parameter: CLOUDFRONT" in str(err.value)
    # REGIONAL works in any region, CLOUDFRONT in us-east-1.
    assert "WebACLs" in waf.list_web_acls(Scope="REGIONAL")
    assert "WebACLs" in _client(endpoint).list_web_acls(Scope="CLOUDFRONT")


def test_updates_need_the_current_lock_token(endpoint):
    waf = _client(endpoint)
    made = _ip_set(waf)
    got = waf.get_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"])
    token = got["LockToken"]
    waf.update_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"], Addresses=["203.0.113.0/24"], LockToken=token)
    with pytest.raises(ClientError) as err:
        waf.update_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"], Addresses=[], LockToken=token)
    assert _code(err) == "WAFOptimisticLockException"
    now = waf.get_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"])
    assert now["IPSet"]["Addresses"] == ["203.0.113.0/24"]


def test_an_update_with_no_rules_leaves_none(endpoint):
    waf = _client(endpoint)
    made = _ip_set(waf)
    acl = _acl(waf, [_rule(made["ARN"])])
    got = waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])
    assert len(got["WebACL"]["Rules"]) == 1
    waf.update_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"], DefaultAction={"Allow": {}}, Rules=[], VisibilityConfig=VISIBILITY, LockToken=got["LockToken"])
    assert waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]["Rules"] == []


def test_an_ip_set_a_rule_uses_cannot_be_deleted_nor_a_missing_one_referenced(endpoint):
    waf = _client(endpoint)
    made = _ip_set(waf)
    acl = _acl(waf, [_rule(made["ARN"])])
    token = waf.get_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"])["LockToken"]
    with pytest.raises(ClientError) as err:
        waf.delete_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"], LockToken=token)
    assert _code(err) == "WAFAssociatedItemException"
    acl_token = waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])["LockToken"]
    waf.delete_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"], LockToken=acl_token)
    waf.delete_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"], LockToken=token)
    missing = made["ARN"]
    with pytest.raises(ClientError) as err:
        _acl(waf, [_rule(missing)])
    assert _code(err) == "WAFNonexistentItemException"


def test_a_web_acl_a_distribution_carries_cannot_be_deleted(endpoint, cloudfront):
    waf = _client(endpoint)
    acl = _acl(waf, [])
    config = {
        "CallerReference": _name("ref"),
        "Comment": "",
        "Enabled": False,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "origin.example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
        "WebACLId": acl["ARN"],
    }
    dist = cloudfront.create_distribution(DistributionConfig=config)
    token = waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])["LockToken"]
    with pytest.raises(ClientError) as err:
        waf.delete_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"], LockToken=token)
    assert _code(err) == "WAFAssociatedItemException"
    config["WebACLId"] = ""
    cloudfront.update_distribution(Id=dist["Distribution"]["Id"], IfMatch=dist["ETag"], DistributionConfig=config)
    waf.delete_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"], LockToken=token)


def test_duplicate_names_and_the_models_checks(endpoint):
    waf = _client(endpoint)
    name = _name("dup")
    _ip_set(waf, name=name)
    with pytest.raises(ClientError) as err:
        _ip_set(waf, name=name)
    assert _code(err) == "WAFDuplicateItemException"
    strict = _client(endpoint, parameter_validation=False)
    with pytest.raises(ClientError) as err:
        strict.create_ip_set(Name="has space", Scope="CLOUDFRONT", IPAddressVersion="IPV4", Addresses=[], Description="d")
    assert _code(err) == "ValidationException"
    assert "at 'name'" in str(err.value) and "regular expression pattern" in str(err.value)
    with pytest.raises(ClientError) as err:
        strict.create_ip_set(Name=_name("ok"), Scope="GLOBAL", IPAddressVersion="IPV4", Addresses=[], Description="d")
    assert _code(err) == "ValidationException" and "enum value set" in str(err.value)


def test_ip_set_addresses_must_be_networks_in_cidr_notation(endpoint):
    waf = _client(endpoint)
    for bad in ("203.0.113.9", "203.0.113.9/24", "0.0.0.0/0", "2001:db8::/32", "203.0.113.0/33"):
        with pytest.raises(ClientError) as err:
            _ip_set(waf, addresses=("198.51.100.7/32", bad))
        assert _code(err) == "WAFInvalidParameterException", bad
        assert err.value.response["Error"]["Message"].endswith(f"field: IP_ADDRESS, parameter: {bad}"), bad
    made = _ip_set(waf, addresses=("203.0.113.0/24",))
    token = waf.get_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"])["LockToken"]
    with pytest.raises(ClientError) as err:
        waf.update_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"], Addresses=["195.178.188.66/29"], LockToken=token)
    assert _code(err) == "WAFInvalidParameterException"
    # Refused whole: the set keeps what it had.
    assert waf.get_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"])["IPSet"]["Addresses"] == ["203.0.113.0/24"]
    waf.update_ip_set(Name=made["Name"], Scope="CLOUDFRONT", Id=made["Id"], Addresses=["195.178.188.64/29"], LockToken=token)
