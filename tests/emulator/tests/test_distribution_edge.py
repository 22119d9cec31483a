"""Origin groups, custom error responses and Origin Shield through Create/Get/UpdateDistribution,
and the checks CloudFront makes on them (distribution_edge.py)."""

import copy

import botocore.exceptions
import pytest

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def _origin(origin_id, shield=None):
    origin = {
        "Id": origin_id,
        "DomainName": f"{origin_id}.example.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }
    if shield:
        origin["OriginShield"] = {"Enabled": True, "OriginShieldRegion": shield}
    return origin


def _methods(*methods):
    return {"Quantity": len(methods), "Items": list(methods), "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}


def _config(reference):
    return {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 2, "Items": [_origin("blue", "eu-west-1"), _origin("green")]},
        "OriginGroups": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "site",
                    "FailoverCriteria": {"StatusCodes": {"Quantity": 2, "Items": [502, 503]}},
                    "Members": {"Quantity": 2, "Items": [{"OriginId": "blue"}, {"OriginId": "green"}]},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_DISABLED,
            "AllowedMethods": _methods("GET", "HEAD", "OPTIONS"),
        },
        "CacheBehaviors": {
            "Quantity": 1,
            "Items": [
                {
                    "PathPattern": "/write/*",
                    "TargetOriginId": "blue",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": CACHING_DISABLED,
                    "AllowedMethods": _methods("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"),
                }
            ],
        },
        "CustomErrorResponses": {
            "Quantity": 2,
            "Items": [
                {"ErrorCode": 503, "ErrorCachingMinTTL": 0},
                {"ErrorCode": 404, "ResponsePagePath": "/errors/404.html", "ResponseCode": "404", "ErrorCachingMinTTL": 300},
            ],
        },
    }


def _edge_fields(config):
    return (
        config["OriginGroups"],
        config["CustomErrorResponses"],
        [o.get("OriginShield") for o in config["Origins"]["Items"]],
        config["DefaultCacheBehavior"]["TargetOriginId"],
    )


def test_groups_error_responses_and_origin_shield_survive_create_get_and_update(cloudfront):
    config = _config("edge-roundtrip")
    created = cloudfront.create_distribution(DistributionConfig=config)
    dist_id = created["Distribution"]["Id"]
    read = cloudfront.get_distribution_config(Id=dist_id)
    groups, errors, shields, target = _edge_fields(read["DistributionConfig"])
    assert target == "site"
    assert groups["Quantity"] == 1
    group = groups["Items"][0]
    assert group["Id"] == "site"
    assert [m["OriginId"] for m in group["Members"]["Items"]] == ["blue", "green"]
    assert group["FailoverCriteria"]["StatusCodes"]["Items"] == [502, 503]
    assert errors["Quantity"] == 2
    assert errors["Items"][0] == {"ErrorCode": 503, "ErrorCachingMinTTL": 0}
    assert errors["Items"][1] == {"ErrorCode": 404, "ResponsePagePath": "/errors/404.html", "ResponseCode": "404", "ErrorCachingMinTTL": 300}
    assert shields == [{"Enabled": True, "OriginShieldRegion": "eu-west-1"}, {"Enabled": False}]

    changed = copy.deepcopy(config)
    changed["CustomErrorResponses"]["Items"][0]["ErrorCachingMinTTL"] = 5
    changed["Origins"]["Items"][1]["OriginShield"] = {"Enabled": True, "OriginShieldRegion": "us-east-1"}
    cloudfront.update_distribution(Id=dist_id, IfMatch=read["ETag"], DistributionConfig=changed)
    after = cloudfront.get_distribution(Id=dist_id)["Distribution"]["DistributionConfig"]
    groups, errors, shields, target = _edge_fields(after)
    assert target == "site"
    assert errors["Items"][0]["ErrorCachingMinTTL"] == 5
    assert shields[1] == {"Enabled": True, "OriginShieldRegion": "us-east-1"}
    assert [m["OriginId"] for m in groups["Items"][0]["Members"]["Items"]] == ["blue", "green"]


def _refused(cloudfront, config):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        cloudfront.create_distribution(DistributionConfig=config)
    error = refused.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_group_member_that_is_no_origin_is_no_such_origin(cloudfront):
    config = _config("edge-bad-member")
    config["OriginGroups"]["Items"][0]["Members"]["Items"][1]["OriginId"] = "purple"
    assert _refused(cloudfront, config)[0] == "NoSuchOrigin"


def test_a_behaviour_routed_to_nothing_is_no_such_origin(cloudfront):
    config = _config("edge-bad-target")
    config["CacheBehaviors"]["Items"][0]["TargetOriginId"] = "nowhere"
    assert _refused(cloudfront, config)[0] == "NoSuchOrigin"


def test_a_group_behind_a_behaviour_allowing_writes_is_refused(cloudfront):
    config = _config("edge-group-writes")
    config["DefaultCacheBehavior"]["AllowedMethods"] = _methods("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
    code, message = _refused(cloudfront, config)
    assert code == "InvalidArgument"
    assert "AllowedMethods" in message and "origin group" in message


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["OriginGroups"]["Items"][0].update(Id="blue"),
        lambda c: c["OriginGroups"]["Items"][0]["Members"]["Items"][1].update(OriginId="blue"),
        lambda c: c["OriginGroups"]["Items"][0]["FailoverCriteria"]["StatusCodes"].update(Items=[429]),
        lambda c: c["CustomErrorResponses"]["Items"][1].pop("ResponseCode"),
        lambda c: c["CustomErrorResponses"]["Items"].append({"ErrorCode": 503, "ErrorCachingMinTTL": 1}) or c["CustomErrorResponses"].update(Quantity=3),
        lambda c: c["Origins"]["Items"][0]["OriginShield"].update(OriginShieldRegion="eu-north-1"),
        lambda c: c["Origins"]["Items"][0]["OriginShield"].pop("OriginShieldRegion"),
    ],
    ids=["group-id-of-an-origin", "same-member-twice", "status-code-429", "page-without-response-code", "code-twice", "shield-region-not-offered", "shield-without-region"],
)
def test_invalid_groups_error_responses_and_shields_are_invalid_argument(cloudfront, edit):
    config = _config("edge-invalid")
    edit(config)
    assert _refused(cloudfront, config)[0] == "InvalidArgument"


def test_error_codes_response_codes_and_page_paths_are_checked(cloudfront):
    config = _config("edge-error-code")
    config["CustomErrorResponses"]["Items"][0]["ErrorCode"] = 418
    assert _refused(cloudfront, config)[0] == "InvalidErrorCode"
    config = _config("edge-response-code")
    config["CustomErrorResponses"]["Items"][1]["ResponseCode"] = "302"
    assert _refused(cloudfront, config)[0] == "InvalidResponseCode"
    config = _config("edge-page-path")
    config["CustomErrorResponses"]["Items"][1]["ResponsePagePath"] = "errors/404.html"
    assert _refused(cloudfront, config)[0] == "InvalidRelativePath"


def test_an_update_is_checked_like_a_create(cloudfront):
    config = _config("edge-update-checked")
    created = cloudfront.create_distribution(DistributionConfig=config)
    dist_id, etag = created["Distribution"]["Id"], created["ETag"]
    bad = copy.deepcopy(config)
    bad["OriginGroups"]["Items"][0]["Members"]["Items"][0]["OriginId"] = "gone"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        cloudfront.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=bad)
    assert refused.value.response["Error"]["Code"] == "NoSuchOrigin"
    kept = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert [m["OriginId"] for m in kept["OriginGroups"]["Items"][0]["Members"]["Items"]] == ["blue", "green"]
