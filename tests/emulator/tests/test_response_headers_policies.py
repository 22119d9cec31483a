"""Response headers policies and cache-key lists through botocore: the rules the CloudFront
API reference and developer guide document beyond the botocore model (CORS credentials with a
`*` origin, quotas, headers that cannot be removed, name lists that go with their behaviour)."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def _code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def _cors(origins, credentials):
    return {
        "AccessControlAllowOrigins": {"Quantity": len(origins), "Items": origins},
        "AccessControlAllowHeaders": {"Quantity": 1, "Items": ["Content-Type"]},
        "AccessControlAllowMethods": {"Quantity": 2, "Items": ["GET", "OPTIONS"]},
        "AccessControlAllowCredentials": credentials,
        "AccessControlMaxAgeSec": 600,
        "OriginOverride": True,
    }


def _headers(name, **parts):
    config = {"Name": name, "Comment": "test"}
    config.update(parts)
    return config


def _remove(*names):
    return {"RemoveHeadersConfig": {"Quantity": len(names), "Items": [{"Header": n} for n in names]}}


def _custom(count):
    items = [{"Header": f"X-Custom-{i}", "Value": "v", "Override": True} for i in range(count)]
    return {"CustomHeadersConfig": {"Quantity": count, "Items": items}}


def test_a_full_policy_is_created_read_back_and_deleted(cloudfront):
    name = f"rh-{uuid.uuid4().hex[:8]}"
    config = _headers(
        name,
        CorsConfig=_cors(["https://app.example.com"], True),
        SecurityHeadersConfig={
            "StrictTransportSecurity": {"Override": True, "IncludeSubdomains": True, "Preload": True, "AccessControlMaxAgeSec": 63072000},
            "FrameOptions": {"Override": True, "FrameOption": "DENY"},
            "ContentTypeOptions": {"Override": True},
        },
        ServerTimingHeadersConfig={"Enabled": True, "SamplingRate": 12.5},
        **_remove("Server", "X-Powered-By"),
        **_custom(1),
    )
    created = cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=config)
    policy_id = created["ResponseHeadersPolicy"]["Id"]
    read = cloudfront.get_response_headers_policy(Id=policy_id)["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]
    assert read["CorsConfig"]["AccessControlAllowCredentials"] is True
    assert read["ServerTimingHeadersConfig"]["SamplingRate"] == 12.5
    assert [h["Header"] for h in read["RemoveHeadersConfig"]["Items"]] == ["Server", "X-Powered-By"]
    cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=created["ETag"])


@pytest.mark.parametrize(
    "parts, code, words",
    [
        ({"CorsConfig": _cors(["*"], True)}, "InvalidArgument", "AccessControlAllowCredentials"),
        ({"CorsConfig": _cors([], False)}, "InvalidArgument", "at least one origin"),
        (_remove("Content-Length"), "InvalidArgument", "Content-Length"),
        (_remove("X-Amz-Cf-Pop"), "InvalidArgument", "X-Amz-Cf-Pop"),
        (_remove(*[f"X-Remove-{i}" for i in range(11)]), "TooManyRemoveHeadersInResponseHeadersPolicy", "at most 10"),
        (_custom(11), "TooManyCustomHeadersInResponseHeadersPolicy", "at most 10"),
        ({"SecurityHeadersConfig": {"ContentSecurityPolicy": {"Override": True, "ContentSecurityPolicy": "a" * 1784}}}, "TooLongCSPInResponseHeadersPolicy", "1783"),
        ({"ServerTimingHeadersConfig": {"Enabled": True, "SamplingRate": 12.34567}}, "InvalidArgument", "four decimal places"),
        ({"ServerTimingHeadersConfig": {"Enabled": True, "SamplingRate": 100.5}}, "MalformedXML", "samplingRate"),
        ({"RemoveHeadersConfig": {"Quantity": 2, "Items": [{"Header": "Server"}]}}, "InconsistentQuantities", "Quantity"),
        ({**_custom(1), **_remove("X-Custom-0")}, "InvalidArgument", "both added and removed"),
    ],
)
def test_a_policy_breaking_a_documented_rule_is_refused(cloudfront, parts, code, words):
    name = f"bad-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as err:
        cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=_headers(name, **parts))
    assert _code(err.value) == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert words in err.value.response["Error"]["Message"]
    names = [i["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Name"] for i in cloudfront.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"].get("Items", [])]
    assert name not in names


def test_an_update_is_checked_like_a_create(cloudfront):
    name = f"upd-{uuid.uuid4().hex[:8]}"
    created = cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=_headers(name, CorsConfig=_cors(["https://a.example.com"], True)))
    with pytest.raises(ClientError) as err:
        cloudfront.update_response_headers_policy(Id=created["ResponseHeadersPolicy"]["Id"], IfMatch=created["ETag"], ResponseHeadersPolicyConfig=_headers(name, CorsConfig=_cors(["*"], True)))
    assert _code(err.value) == "InvalidArgument"
    cloudfront.delete_response_headers_policy(Id=created["ResponseHeadersPolicy"]["Id"], IfMatch=created["ETag"])


def _cache(name, cookies, query_strings):
    return {
        "Name": name,
        "MinTTL": 0,
        "DefaultTTL": 60,
        "MaxTTL": 3600,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": cookies,
            "QueryStringsConfig": query_strings,
        },
    }


def _names(key, names):
    return {"Quantity": len(names), "Items": names}


@pytest.mark.parametrize(
    "cookies, query_strings, code",
    [
        ({"CookieBehavior": "whitelist"}, {"QueryStringBehavior": "all"}, "InvalidArgument"),
        ({"CookieBehavior": "none", "Cookies": _names("c", ["a"])}, {"QueryStringBehavior": "all"}, "InvalidArgument"),
        ({"CookieBehavior": "allExcept", "Cookies": _names("c", [f"c{i}" for i in range(11)])}, {"QueryStringBehavior": "all"}, "TooManyCookiesInCachePolicy"),
        ({"CookieBehavior": "none"}, {"QueryStringBehavior": "whitelist", "QueryStrings": _names("q", [f"q{i}" for i in range(11)])}, "TooManyQueryStringsInCachePolicy"),
        ({"CookieBehavior": "none"}, {"QueryStringBehavior": "allExcept"}, "InvalidArgument"),
    ],
)
def test_cache_key_name_lists_go_with_their_behaviour(cloudfront, cookies, query_strings, code):
    with pytest.raises(ClientError) as err:
        cloudfront.create_cache_policy(CachePolicyConfig=_cache(f"ck-{uuid.uuid4().hex[:8]}", cookies, query_strings))
    assert _code(err.value) == code


def test_allow_and_deny_lists_are_kept(cloudfront):
    name = f"ok-{uuid.uuid4().hex[:8]}"
    created = cloudfront.create_cache_policy(
        CachePolicyConfig=_cache(name, {"CookieBehavior": "whitelist", "Cookies": _names("c", ["session"])}, {"QueryStringBehavior": "allExcept", "QueryStrings": _names("q", ["utm_source"])})
    )
    read = cloudfront.get_cache_policy_config(Id=created["CachePolicy"]["Id"])["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    assert read["CookiesConfig"] == {"CookieBehavior": "whitelist", "Cookies": {"Quantity": 1, "Items": ["session"]}}
    assert read["QueryStringsConfig"]["QueryStrings"]["Items"] == ["utm_source"]
    cloudfront.delete_cache_policy(Id=created["CachePolicy"]["Id"], IfMatch=created["ETag"])


def test_the_unremovable_headers_match_the_config_crates_list():
    import re
    from pathlib import Path

    from cfrp_emulator.cloudfront_ext import UNREMOVABLE_HEADERS

    source = (Path(__file__).resolve().parents[3] / "shared/src/load/policies.rs").read_text()
    block = source.split("pub const UNREMOVABLE_HEADERS: &[&str] = &[", 1)[1].split("];", 1)[0]
    assert re.findall(r'"([^"]+)"', block) == UNREMOVABLE_HEADERS
