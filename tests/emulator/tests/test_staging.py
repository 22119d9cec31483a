"""Continuous deployment through botocore: CopyDistribution, continuous deployment policies and
UpdateDistributionWithStagingConfig, with the errors the CloudFront API reference lists."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def _code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def _status(err: ClientError) -> int:
    return err.response["ResponseMetadata"]["HTTPStatusCode"]


def _config(reference: str, aliases=None, comment="primary", cache_policy=CACHING_DISABLED):
    config = {
        "CallerReference": reference,
        "Comment": comment,
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "app.example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": cache_policy},
    }
    if aliases:
        config["Aliases"] = {"Quantity": len(aliases), "Items": aliases}
    return config


def _primary(cloudfront, aliases=None):
    created = cloudfront.create_distribution(DistributionConfig=_config(f"p-{uuid.uuid4().hex[:8]}", aliases))
    return created["Distribution"]["Id"], created["ETag"]


def _copy(cloudfront, primary_id, etag, **extra):
    return cloudfront.copy_distribution(PrimaryDistributionId=primary_id, Staging=True, IfMatch=etag, CallerReference=f"s-{uuid.uuid4().hex[:8]}", **extra)


def _policy_config(domain, weight=0.05, enabled=True, traffic=None):
    return {
        "StagingDistributionDnsNames": {"Quantity": 1, "Items": [domain]},
        "Enabled": enabled,
        "TrafficConfig": traffic or {"Type": "SingleWeight", "SingleWeightConfig": {"Weight": weight}},
    }


def _attach(cloudfront, dist_id, policy_id):
    current = cloudfront.get_distribution_config(Id=dist_id)
    config = current["DistributionConfig"]
    if policy_id is None:
        config.pop("ContinuousDeploymentPolicyId", None)
        config["ContinuousDeploymentPolicyId"] = ""
    else:
        config["ContinuousDeploymentPolicyId"] = policy_id
    return cloudfront.update_distribution(Id=dist_id, IfMatch=current["ETag"], DistributionConfig=config)


def _disable_and_delete(cloudfront, dist_id):
    current = cloudfront.get_distribution_config(Id=dist_id)
    config = current["DistributionConfig"]
    config["Enabled"] = False
    etag = cloudfront.update_distribution(Id=dist_id, IfMatch=current["ETag"], DistributionConfig=config)["ETag"]
    cloudfront.delete_distribution(Id=dist_id, IfMatch=etag)


def test_copy_makes_a_staging_distribution_without_aliases(cloudfront):
    primary_id, etag = _primary(cloudfront, aliases=["www.example.com"])
    copied = _copy(cloudfront, primary_id, etag)
    staging = copied["Distribution"]
    assert copied["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert copied["ETag"] and copied["Location"].endswith(staging["Id"])
    assert staging["Id"] != primary_id
    config = staging["DistributionConfig"]
    assert config["Staging"] is True
    assert config["Aliases"]["Quantity"] == 0
    assert config["Comment"] == "primary"
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_DISABLED
    assert config["Enabled"] is True
    # Read back the same, and a primary says Staging false.
    assert cloudfront.get_distribution_config(Id=staging["Id"])["DistributionConfig"]["Staging"] is True
    assert cloudfront.get_distribution_config(Id=primary_id)["DistributionConfig"]["Staging"] is False
    summaries = {d["Id"]: d for d in cloudfront.list_distributions()["DistributionList"]["Items"]}
    assert summaries[staging["Id"]]["Staging"] is True
    assert summaries[primary_id]["Staging"] is False


def test_copy_can_start_disabled(cloudfront):
    primary_id, etag = _primary(cloudfront)
    assert _copy(cloudfront, primary_id, etag, Enabled=False)["Distribution"]["DistributionConfig"]["Enabled"] is False


def test_copy_refusals(cloudfront):
    primary_id, etag = _primary(cloudfront)
    with pytest.raises(ClientError) as err:
        _copy(cloudfront, primary_id, "WRONGETAG")
    assert (_code(err.value), _status(err.value)) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as err:
        cloudfront.copy_distribution(PrimaryDistributionId=primary_id, CallerReference="x", IfMatch=etag)
    assert _code(err.value) == "InvalidArgument" and "Staging" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        cloudfront.copy_distribution(PrimaryDistributionId=primary_id, Staging=True, CallerReference="x")
    assert _code(err.value) == "InvalidIfMatchVersion"
    with pytest.raises(ClientError) as err:
        _copy(cloudfront, "NOSUCHDIST", etag)
    assert (_code(err.value), _status(err.value)) == ("NoSuchDistribution", 404)
    staging = _copy(cloudfront, primary_id, etag)
    with pytest.raises(ClientError) as err:
        _copy(cloudfront, staging["Distribution"]["Id"], staging["ETag"])
    assert _code(err.value) == "InvalidArgument"
    reference = f"dup-{uuid.uuid4().hex[:8]}"
    cloudfront.copy_distribution(PrimaryDistributionId=primary_id, Staging=True, IfMatch=etag, CallerReference=reference)
    with pytest.raises(ClientError) as err:
        cloudfront.copy_distribution(PrimaryDistributionId=primary_id, Staging=True, IfMatch=etag, CallerReference=reference)
    assert (_code(err.value), _status(err.value)) == ("DistributionAlreadyExists", 409)


def test_staging_distribution_refuses_aliases_and_staging_flag_is_fixed(cloudfront):
    primary_id, etag = _primary(cloudfront)
    staging = _copy(cloudfront, primary_id, etag)["Distribution"]
    current = cloudfront.get_distribution_config(Id=staging["Id"])
    config = current["DistributionConfig"]
    config["Aliases"] = {"Quantity": 1, "Items": ["beta.example.com"]}
    with pytest.raises(ClientError) as err:
        cloudfront.update_distribution(Id=staging["Id"], IfMatch=current["ETag"], DistributionConfig=config)
    assert _code(err.value) == "InvalidArgument" and "Aliases" in err.value.response["Error"]["Message"]
    config["Aliases"] = {"Quantity": 0}
    config["Staging"] = False
    with pytest.raises(ClientError) as err:
        cloudfront.update_distribution(Id=staging["Id"], IfMatch=current["ETag"], DistributionConfig=config)
    assert _code(err.value) == "IllegalUpdate"


def test_policy_lifecycle(cloudfront):
    primary_id, etag = _primary(cloudfront)
    staging = _copy(cloudfront, primary_id, etag)["Distribution"]
    created = cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=_policy_config(staging["DomainName"]))
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    policy = created["ContinuousDeploymentPolicy"]
    assert created["Location"].endswith(f"/continuous-deployment-policy/{policy['Id']}")
    assert policy["ContinuousDeploymentPolicyConfig"]["TrafficConfig"]["SingleWeightConfig"]["Weight"] == pytest.approx(0.05)
    got = cloudfront.get_continuous_deployment_policy(Id=policy["Id"])
    assert got["ETag"] == created["ETag"]
    assert cloudfront.get_continuous_deployment_policy_config(Id=policy["Id"])["ContinuousDeploymentPolicyConfig"]["StagingDistributionDnsNames"]["Items"] == [staging["DomainName"]]
    listed = cloudfront.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    assert policy["Id"] in [i["ContinuousDeploymentPolicy"]["Id"] for i in listed["Items"]]

    header = {"Type": "SingleHeader", "SingleHeaderConfig": {"Header": "aws-cf-cd-canary", "Value": "yes"}}
    with pytest.raises(ClientError) as err:
        cloudfront.update_continuous_deployment_policy(Id=policy["Id"], IfMatch="STALE", ContinuousDeploymentPolicyConfig=_policy_config(staging["DomainName"], traffic=header))
    assert (_code(err.value), _status(err.value)) == ("PreconditionFailed", 412)
    updated = cloudfront.update_continuous_deployment_policy(Id=policy["Id"], IfMatch=created["ETag"], ContinuousDeploymentPolicyConfig=_policy_config(staging["DomainName"], traffic=header))
    assert updated["ETag"] != created["ETag"]
    assert updated["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]["TrafficConfig"]["SingleHeaderConfig"]["Header"] == "aws-cf-cd-canary"

    with pytest.raises(ClientError) as err:
        cloudfront.delete_continuous_deployment_policy(Id=policy["Id"])
    assert _code(err.value) == "InvalidIfMatchVersion"
    cloudfront.delete_continuous_deployment_policy(Id=policy["Id"], IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as err:
        cloudfront.get_continuous_deployment_policy(Id=policy["Id"])
    assert (_code(err.value), _status(err.value)) == ("NoSuchContinuousDeploymentPolicy", 404)


@pytest.mark.parametrize(
    "traffic, words",
    [
        ({"Type": "SingleWeight", "SingleWeightConfig": {"Weight": 0.16}}, "Weight"),
        ({"Type": "SingleWeight", "SingleWeightConfig": {"Weight": 0.1, "SessionStickinessConfig": {"IdleTTL": 100, "MaximumTTL": 600}}}, "IdleTTL"),
        ({"Type": "SingleWeight", "SingleWeightConfig": {"Weight": 0.1, "SessionStickinessConfig": {"IdleTTL": 900, "MaximumTTL": 600}}}, "MaximumTTL"),
        ({"Type": "SingleWeight", "SingleHeaderConfig": {"Header": "aws-cf-cd-x", "Value": "1"}}, "SingleWeight"),
        ({"Type": "SingleHeader", "SingleHeaderConfig": {"Header": "x-canary", "Value": "1"}}, "aws-cf-cd-"),
    ],
)
def test_policy_traffic_validation(cloudfront, traffic, words):
    primary_id, etag = _primary(cloudfront)
    staging = _copy(cloudfront, primary_id, etag)["Distribution"]
    with pytest.raises(ClientError) as err:
        cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=_policy_config(staging["DomainName"], traffic=traffic))
    assert _code(err.value) == "InvalidArgument"
    assert words in err.value.response["Error"]["Message"]


def test_policy_names_one_free_staging_distribution(cloudfront):
    primary_id, etag = _primary(cloudfront)
    staging = _copy(cloudfront, primary_id, etag)["Distribution"]
    primary_domain = cloudfront.get_distribution(Id=primary_id)["Distribution"]["DomainName"]
    with pytest.raises(ClientError) as err:
        cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=_policy_config(primary_domain))
    assert _code(err.value) == "InvalidArgument"
    bad = _policy_config(staging["DomainName"])
    bad["StagingDistributionDnsNames"]["Quantity"] = 2
    with pytest.raises(ClientError) as err:
        cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=bad)
    assert _code(err.value) == "InconsistentQuantities"
    cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=_policy_config(staging["DomainName"]))
    with pytest.raises(ClientError) as err:
        cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=_policy_config(staging["DomainName"]))
    assert (_code(err.value), _status(err.value)) == ("StagingDistributionInUse", 409)


def test_attached_policy_and_named_staging_cannot_be_deleted(cloudfront):
    primary_id, etag = _primary(cloudfront)
    staging = _copy(cloudfront, primary_id, etag)["Distribution"]
    created = cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=_policy_config(staging["DomainName"]))
    policy_id = created["ContinuousDeploymentPolicy"]["Id"]
    with pytest.raises(ClientError) as err:
        _attach(cloudfront, primary_id, "no-such-policy")
    assert (_code(err.value), _status(err.value)) == ("NoSuchContinuousDeploymentPolicy", 404)
    attached = _attach(cloudfront, primary_id, policy_id)
    assert attached["Distribution"]["DistributionConfig"]["ContinuousDeploymentPolicyId"] == policy_id

    other_id, _ = _primary(cloudfront)
    with pytest.raises(ClientError) as err:
        _attach(cloudfront, other_id, policy_id)
    assert (_code(err.value), _status(err.value)) == ("ContinuousDeploymentPolicyInUse", 409)
    with pytest.raises(ClientError) as err:
        _attach(cloudfront, staging["Id"], policy_id)
    assert _code(err.value) == "InvalidArgument"

    with pytest.raises(ClientError) as err:
        cloudfront.delete_continuous_deployment_policy(Id=policy_id, IfMatch=created["ETag"])
    assert (_code(err.value), _status(err.value)) == ("ContinuousDeploymentPolicyInUse", 409)
    with pytest.raises(ClientError) as err:
        _disable_and_delete(cloudfront, staging["Id"])
    assert (_code(err.value), _status(err.value)) == ("ResourceInUse", 409)

    # Detached, the policy goes; then the staging distribution can go.
    _attach(cloudfront, primary_id, None)
    cloudfront.delete_continuous_deployment_policy(Id=policy_id, IfMatch=created["ETag"])
    _disable_and_delete(cloudfront, staging["Id"])
    with pytest.raises(ClientError) as err:
        cloudfront.get_distribution(Id=staging["Id"])
    assert _code(err.value) == "NoSuchDistribution"


def test_promote_copies_staging_config_but_keeps_aliases_and_policy(cloudfront):
    primary_id, etag = _primary(cloudfront, aliases=["www.example.com"])
    copied = _copy(cloudfront, primary_id, etag)
    staging_id = copied["Distribution"]["Id"]
    current = cloudfront.get_distribution_config(Id=staging_id)
    config = current["DistributionConfig"]
    config["Comment"] = "staged change"
    config["DefaultCacheBehavior"]["CachePolicyId"] = CACHING_OPTIMIZED
    staging_etag = cloudfront.update_distribution(Id=staging_id, IfMatch=current["ETag"], DistributionConfig=config)["ETag"]
    created = cloudfront.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=_policy_config(copied["Distribution"]["DomainName"]))
    policy_id = created["ContinuousDeploymentPolicy"]["Id"]
    primary_etag = _attach(cloudfront, primary_id, policy_id)["ETag"]

    with pytest.raises(ClientError) as err:
        cloudfront.update_distribution_with_staging_config(Id=primary_id, StagingDistributionId=staging_id, IfMatch=f"{primary_etag}, STALE")
    assert (_code(err.value), _status(err.value)) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as err:
        cloudfront.update_distribution_with_staging_config(Id=primary_id, StagingDistributionId=staging_id, IfMatch=primary_etag)
    assert _code(err.value) == "InvalidIfMatchVersion"

    promoted = cloudfront.update_distribution_with_staging_config(Id=primary_id, StagingDistributionId=staging_id, IfMatch=f"{primary_etag}, {staging_etag}")
    assert promoted["ETag"] != primary_etag
    after = cloudfront.get_distribution_config(Id=primary_id)["DistributionConfig"]
    assert after["Comment"] == "staged change"
    assert after["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_OPTIMIZED
    assert after["Aliases"]["Items"] == ["www.example.com"]
    assert after["ContinuousDeploymentPolicyId"] == policy_id
    assert after["Staging"] is False
    assert after["CallerReference"] != cloudfront.get_distribution_config(Id=staging_id)["DistributionConfig"]["CallerReference"]
    policy = cloudfront.get_continuous_deployment_policy(Id=policy_id)
    assert policy["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]["Enabled"] is False
    assert policy["ETag"] != created["ETag"]


def test_promote_needs_a_policy_pairing_the_two(cloudfront):
    primary_id, etag = _primary(cloudfront)
    copied = _copy(cloudfront, primary_id, etag)
    primary_etag = cloudfront.get_distribution(Id=primary_id)["ETag"]
    with pytest.raises(ClientError) as err:
        cloudfront.update_distribution_with_staging_config(Id=primary_id, StagingDistributionId=copied["Distribution"]["Id"], IfMatch=f"{primary_etag}, {copied['ETag']}")
    assert _code(err.value) == "InvalidArgument"
    other_id, other_etag = _primary(cloudfront)
    with pytest.raises(ClientError) as err:
        cloudfront.update_distribution_with_staging_config(Id=primary_id, StagingDistributionId=other_id, IfMatch=f"{primary_etag}, {other_etag}")
    assert _code(err.value) == "InvalidArgument"
