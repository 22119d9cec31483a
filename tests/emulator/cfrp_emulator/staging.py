"""CloudFront continuous deployment, which moto lacks: staging distributions and policies.

CopyDistribution makes a staging distribution from a primary (moto keeps it as one of its
distributions, with `Staging` true); continuous deployment policies (Create/Get/GetConfig/
Update/Delete/List) send a share of the primary's traffic, or the requests carrying a header,
to the staging distribution named by its CloudFront domain; UpdateDistributionWithStagingConfig
copies the staging configuration onto the primary, which keeps its Aliases and
ContinuousDeploymentPolicyId, and disables the policy.

Rules from the CloudFront API reference and the developer guide ("Quotas and other
considerations for continuous deployment"), coded where the botocore model cannot express them:
- CopyDistribution: `Staging` must be true, `If-Match` is the primary's current ETag
  (InvalidIfMatchVersion when missing, PreconditionFailed when stale); a staging distribution
  cannot be copied; the copy has no Aliases and no policy; `Enabled` defaults to true; at most
  20 staging distributions per account.
- Policies: `Weight` between 0 and 0.15 (InvalidArgument), session stickiness IdleTTL and
  MaximumTTL within 300–3600 with IdleTTL <= MaximumTTL, a header starting `aws-cf-cd-`, the
  traffic config matching its `Type`, `Quantity` equal to the number of Items
  (InconsistentQuantities), the DNS name a staging distribution's; one policy per staging
  distribution (StagingDistributionInUse); at most 20 policies per account; If-Match on update
  and delete; a policy attached to a primary cannot be deleted (ContinuousDeploymentPolicyInUse).
- Distributions (moto's own operations, checked here): a primary's ContinuousDeploymentPolicyId
  must name a policy (NoSuchContinuousDeploymentPolicy) not attached to another primary
  (ContinuousDeploymentPolicyInUse), and a staging distribution cannot carry one; a staging
  distribution has no Aliases; `Staging` cannot change (IllegalUpdate); a staging distribution
  named by a policy cannot be deleted (ResourceInUse, DeleteDistribution's error for it).
"""

from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ET
from typing import Any, Callable

from moto.cloudfront import models
from moto.cloudfront.exceptions import CloudFrontException
from moto.core.responses import XFormedAttributePicker, get_service_model
from moto.core.serialize import RestXMLSerializer

from .cloudfront_ext import ACCOUNT, API, ApiError, CloudFrontExtension, _check_if_match, _etag, _now, _page, _route_regex
from .shapes import xml_to_value

OPERATIONS = [
    "CopyDistribution",
    "CreateContinuousDeploymentPolicy",
    "GetContinuousDeploymentPolicy",
    "GetContinuousDeploymentPolicyConfig",
    "UpdateContinuousDeploymentPolicy",
    "DeleteContinuousDeploymentPolicy",
    "ListContinuousDeploymentPolicies",
    "UpdateDistributionWithStagingConfig",
]

MAX_WEIGHT = 0.15
MAX_STAGING_DISTRIBUTIONS = 20
MAX_POLICIES = 20
STICKINESS_TTL = (300, 3600)
HEADER_PREFIX = "aws-cf-cd-"


class _Refused(CloudFrontException):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def _is_staging(dist: Any) -> bool:
    return str(getattr(dist.distribution_config, "Staging", False)).lower() == "true"


def _aliases(config: Any) -> list[str]:
    aliases = config.get("Aliases") if isinstance(config, dict) else getattr(config, "Aliases", None)
    return list((aliases or {}).get("Items") or [])


class StagingExtension(CloudFrontExtension):
    """The CloudFront extension plus continuous deployment; `install()` adds the checks on
    moto's own distribution operations."""

    def __init__(self, distributions: Callable[[], list[Any]], backend: Callable[[], Any]) -> None:
        super().__init__(distributions)
        # Re-entrant: CopyDistribution creates through moto, whose create is checked here too.
        self.lock = threading.RLock()
        for name in OPERATIONS:
            op = self.model.operation_model(name)
            self.routes.append((op.http["method"], _route_regex(op.http["requestUri"]), op))
        self.backend = backend
        self.deployment_policies: dict[str, dict[str, Any]] = {}
        self._install()

    # ------------------------------------------------------------ helpers

    def _distribution(self, dist_id: str) -> Any:
        dist = self.backend().distributions.get(dist_id)
        if dist is None:
            raise ApiError("NoSuchDistribution", f"no distribution with id {dist_id}")
        return dist

    def _config_dict(self, dist: Any) -> dict[str, Any]:
        """The distribution's config as request-shaped values: moto's own serialisation of
        GetDistributionConfig, parsed back by the model."""
        op = get_service_model("cloudfront").operation_model("GetDistributionConfig")
        serializer = RestXMLSerializer(operation_model=op, pretty_print=False, value_picker=XFormedAttributePicker())
        body = serializer.serialize({"DistributionConfig": dist.distribution_config, "ETag": dist.etag})["body"]
        return xml_to_value(ET.fromstring(body), self.model.operation_model("GetDistributionConfig").output_shape.members["DistributionConfig"])

    def _serialise_distribution(self, op: Any, result: dict[str, Any]):
        # moto's serialiser reads moto's Distribution objects (with moto's own service model).
        op = get_service_model("cloudfront").operation_model(op.name)
        serializer = RestXMLSerializer(operation_model=op, pretty_print=False, value_picker=XFormedAttributePicker())
        answer = serializer.serialize(result)
        return answer["status_code"], list(answer["headers"].items()), answer["body"].encode() if isinstance(answer["body"], str) else answer["body"]

    def _serialise_output(self, op: Any, result: dict[str, Any]):
        if op.name in ("CopyDistribution", "UpdateDistributionWithStagingConfig"):
            return self._serialise_distribution(op, result)
        return super()._serialise_output(op, result)

    def _policy_of_staging(self, domain: str, other_than: str | None = None) -> dict[str, Any] | None:
        for policy in self.deployment_policies.values():
            if policy["Id"] != other_than and domain in (policy["Config"]["StagingDistributionDnsNames"].get("Items") or []):
                return policy
        return None

    def _primary_of_policy(self, policy_id: str, other_than: str | None = None) -> Any:
        for dist in self.distributions():
            if dist.distribution_id != other_than and getattr(dist.distribution_config, "ContinuousDeploymentPolicyId", "") == policy_id:
                return dist
        return None

    def _deployment_policy(self, policy_id: str) -> dict[str, Any]:
        policy = self.deployment_policies.get(policy_id)
        if policy is None:
            raise ApiError("NoSuchContinuousDeploymentPolicy", f"no continuous deployment policy with id {policy_id}")
        return policy

    def _check_deployment_config(self, config: dict[str, Any], own_id: str | None) -> None:
        names = config["StagingDistributionDnsNames"]
        items = names.get("Items") or []
        if names["Quantity"] != len(items):
            raise ApiError("InconsistentQuantities", f"StagingDistributionDnsNames.Quantity {names['Quantity']} but {len(items)} Items")
        if len(items) != 1:
            raise ApiError("InvalidArgument", "StagingDistributionDnsNames must name exactly one staging distribution")
        domain = items[0]
        staging = next((d for d in self.distributions() if d.domain_name == domain), None)
        if staging is None or not _is_staging(staging):
            raise ApiError("InvalidArgument", f"{domain} is not the domain name of a staging distribution")
        if self._policy_of_staging(domain, own_id) is not None:
            raise ApiError("StagingDistributionInUse", f"a continuous deployment policy for the staging distribution {domain} already exists")
        traffic = config.get("TrafficConfig")
        if traffic is None:
            return
        kind = traffic["Type"]
        weight, header = traffic.get("SingleWeightConfig"), traffic.get("SingleHeaderConfig")
        if kind == "SingleWeight":
            if weight is None or header is not None:
                raise ApiError("InvalidArgument", "TrafficConfig of Type SingleWeight takes SingleWeightConfig only")
            if not 0 <= weight["Weight"] <= MAX_WEIGHT:
                raise ApiError("InvalidArgument", f"Weight {weight['Weight']} must be between 0 and {MAX_WEIGHT}")
            sticky = weight.get("SessionStickinessConfig")
            if sticky is not None:
                low, high = STICKINESS_TTL
                for key in ("IdleTTL", "MaximumTTL"):
                    if not low <= sticky[key] <= high:
                        raise ApiError("InvalidArgument", f"{key} {sticky[key]} must be between {low} and {high} seconds")
                if sticky["IdleTTL"] > sticky["MaximumTTL"]:
                    raise ApiError("InvalidArgument", f"IdleTTL {sticky['IdleTTL']} must not exceed MaximumTTL {sticky['MaximumTTL']}")
        else:
            if header is None or weight is not None:
                raise ApiError("InvalidArgument", "TrafficConfig of Type SingleHeader takes SingleHeaderConfig only")
            if not header["Header"].lower().startswith(HEADER_PREFIX):
                raise ApiError("InvalidArgument", f"Header '{header['Header']}' must start with {HEADER_PREFIX}")

    def _policy_answer(self, policy: dict[str, Any]) -> dict[str, Any]:
        return {"Id": policy["Id"], "LastModifiedTime": policy["LastModifiedTime"], "ContinuousDeploymentPolicyConfig": policy["Config"]}

    # ------------------------------------------------------------ staging distributions

    def op_CopyDistribution(self, p: dict[str, Any]) -> dict[str, Any]:
        primary = self._distribution(p["PrimaryDistributionId"])
        # A header: the wire carries "true"/"false".
        if str(p.get("Staging", "")).lower() != "true":
            raise ApiError("InvalidArgument", "Staging must be true: CopyDistribution makes a staging distribution")
        _check_if_match(p.get("IfMatch"), primary.etag)
        if _is_staging(primary):
            raise ApiError("InvalidArgument", f"{primary.distribution_id} is a staging distribution; copy its primary")
        if sum(1 for d in self.distributions() if _is_staging(d)) >= MAX_STAGING_DISTRIBUTIONS:
            raise ApiError("TooManyDistributions", f"at most {MAX_STAGING_DISTRIBUTIONS} staging distributions per account")
        config = self._config_dict(primary)
        config["CallerReference"] = p["CallerReference"]
        config["Staging"] = True
        config["Enabled"] = p.get("Enabled", True)
        config["Aliases"] = {"Quantity": 0}
        config.pop("ContinuousDeploymentPolicyId", None)
        try:
            dist, location, etag = self.backend().create_distribution(config, [])
        except CloudFrontException as err:
            raise ApiError(err.code, err.message) from err
        return {"Distribution": dist, "Location": location, "ETag": etag}

    def op_UpdateDistributionWithStagingConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        primary = self._distribution(p["Id"])
        if not p.get("StagingDistributionId"):
            raise ApiError("InvalidArgument", "StagingDistributionId is required")
        staging = self._distribution(p["StagingDistributionId"])
        if not _is_staging(staging):
            raise ApiError("InvalidArgument", f"{staging.distribution_id} is not a staging distribution")
        if _is_staging(primary):
            raise ApiError("InvalidArgument", f"{primary.distribution_id} is a staging distribution, not a primary")
        given = [part.strip() for part in (p.get("IfMatch") or "").split(",") if part.strip()]
        if len(given) != 2:
            raise ApiError("InvalidIfMatchVersion", "If-Match must be '<primary ETag>, <staging ETag>'")
        if given != [primary.etag, staging.etag]:
            raise ApiError("PreconditionFailed", f"If-Match {p['IfMatch']} does not match the current ETags {primary.etag}, {staging.etag}")
        policy_id = getattr(primary.distribution_config, "ContinuousDeploymentPolicyId", "") or ""
        policy = self.deployment_policies.get(policy_id)
        if policy is None or staging.domain_name not in (policy["Config"]["StagingDistributionDnsNames"].get("Items") or []):
            raise ApiError("InvalidArgument", f"the primary {primary.distribution_id} has no continuous deployment policy naming the staging distribution {staging.distribution_id}")
        own = self._config_dict(primary)
        config = self._config_dict(staging)
        config["CallerReference"] = own["CallerReference"]
        config["Aliases"] = own.get("Aliases") or {"Quantity": 0}
        config["ContinuousDeploymentPolicyId"] = policy_id
        config["Staging"] = False
        primary.distribution_config = models.DistributionConfig(config)
        primary.etag = models.random_id()
        primary.status = "InProgress"
        policy["Config"]["Enabled"] = False
        policy.update(ETag=_etag(), LastModifiedTime=_now())
        return {"Distribution": primary, "ETag": primary.etag}

    # ------------------------------------------------------------ continuous deployment policies

    def op_CreateContinuousDeploymentPolicy(self, p: dict[str, Any]) -> dict[str, Any]:
        config = p["ContinuousDeploymentPolicyConfig"]
        if len(self.deployment_policies) >= MAX_POLICIES:
            raise ApiError("TooManyContinuousDeploymentPolicies", f"at most {MAX_POLICIES} continuous deployment policies per account")
        self._check_deployment_config(config, None)
        policy_id = str(uuid.uuid4())
        policy = {"Id": policy_id, "Config": config, "ETag": _etag(), "LastModifiedTime": _now()}
        self.deployment_policies[policy_id] = policy
        return {
            "ContinuousDeploymentPolicy": self._policy_answer(policy),
            "ETag": policy["ETag"],
            "Location": f"https://cloudfront.amazonaws.com/{API}/continuous-deployment-policy/{policy_id}",
        }

    def op_GetContinuousDeploymentPolicy(self, p: dict[str, Any]) -> dict[str, Any]:
        policy = self._deployment_policy(p["Id"])
        return {"ContinuousDeploymentPolicy": self._policy_answer(policy), "ETag": policy["ETag"]}

    def op_GetContinuousDeploymentPolicyConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        policy = self._deployment_policy(p["Id"])
        return {"ContinuousDeploymentPolicyConfig": policy["Config"], "ETag": policy["ETag"]}

    def op_UpdateContinuousDeploymentPolicy(self, p: dict[str, Any]) -> dict[str, Any]:
        policy = self._deployment_policy(p["Id"])
        _check_if_match(p.get("IfMatch"), policy["ETag"])
        config = p["ContinuousDeploymentPolicyConfig"]
        self._check_deployment_config(config, policy["Id"])
        policy.update(Config=config, ETag=_etag(), LastModifiedTime=_now())
        return {"ContinuousDeploymentPolicy": self._policy_answer(policy), "ETag": policy["ETag"]}

    def op_DeleteContinuousDeploymentPolicy(self, p: dict[str, Any]) -> dict[str, Any]:
        policy = self._deployment_policy(p["Id"])
        _check_if_match(p.get("IfMatch"), policy["ETag"])
        primary = self._primary_of_policy(policy["Id"])
        if primary is not None:
            raise ApiError("ContinuousDeploymentPolicyInUse", f"continuous deployment policy {policy['Id']} is attached to the primary distribution {primary.distribution_id}")
        del self.deployment_policies[policy["Id"]]
        return {}

    def op_ListContinuousDeploymentPolicies(self, p: dict[str, Any]) -> dict[str, Any]:
        items, next_marker, max_items = _page(sorted(self.deployment_policies.values(), key=lambda x: x["Id"]), p, key="Id")
        page: dict[str, Any] = {
            "MaxItems": max_items,
            "Quantity": len(items),
            "Items": [{"ContinuousDeploymentPolicy": self._policy_answer(x)} for x in items],
        }
        if next_marker is not None:
            page["NextMarker"] = next_marker
        return {"ContinuousDeploymentPolicyList": page}

    # ------------------------------------------------------------ checks on moto's distribution operations

    def _check_distribution_config(self, config: dict[str, Any], dist_id: str | None) -> None:
        staging = str(config.get("Staging", False)).lower() == "true"
        policy_id = config.get("ContinuousDeploymentPolicyId") or ""
        if staging and _aliases(config):
            raise _Refused("InvalidArgument", "a staging distribution cannot have alternate domain names (Aliases)")
        if policy_id:
            if staging:
                raise _Refused("InvalidArgument", "a staging distribution cannot have a ContinuousDeploymentPolicyId")
            if policy_id not in self.deployment_policies:
                raise _Refused("NoSuchContinuousDeploymentPolicy", f"no continuous deployment policy with id {policy_id}")
            other = self._primary_of_policy(policy_id, other_than=dist_id)
            if other is not None:
                raise _Refused("ContinuousDeploymentPolicyInUse", f"continuous deployment policy {policy_id} is attached to the distribution {other.distribution_id}")

    def _install(self) -> None:
        extension = self
        backend_class = models.CloudFrontBackend
        if getattr(backend_class, "_cfrp_staging", None) is not None:
            backend_class._cfrp_staging[0] = extension
            return
        holder = [extension]
        backend_class._cfrp_staging = holder
        create = backend_class.create_distribution_with_tags
        update = backend_class.update_distribution
        delete = backend_class.delete_distribution
        config_init = models.DistributionConfig.__init__

        def config_with_staging_flag(self: Any, config: dict[str, Any]) -> None:
            # CloudFront answers Staging (false for a primary) in every config and summary.
            config.setdefault("Staging", False)
            config_init(self, config)

        def create_checked(self: Any, distribution_config: dict[str, Any], tags: list[Any]) -> Any:
            config = distribution_config
            with holder[0].lock:
                holder[0]._check_distribution_config(config, None)
            return create(self, config, tags)

        def update_checked(self: Any, dist_config: dict[str, Any], _id: str, if_match: Any) -> Any:
            config = dist_config
            dist = self.distributions.get(_id)
            # A stale If-Match is PreconditionFailed first (moto_patches); then these rules.
            if dist is not None and config and if_match == dist.etag:
                with holder[0].lock:
                    was = _is_staging(dist)
                    now = str(config.get("Staging", False)).lower() == "true"
                    if was != now:
                        raise _Refused("IllegalUpdate", "Staging cannot change: a staging distribution stays one and a primary stays one")
                    holder[0]._check_distribution_config(config, _id)
            return update(self, config, _id, if_match)

        def delete_checked(self: Any, distribution_id: str, if_match: Any) -> None:
            dist = self.distributions.get(distribution_id)
            if dist is not None and if_match and if_match == dist.etag:
                with holder[0].lock:
                    policy = holder[0]._policy_of_staging(dist.domain_name)
                if policy is not None:
                    raise _Refused("ResourceInUse", f"staging distribution {distribution_id} is named by the continuous deployment policy {policy['Id']}; delete the policy first")
            delete(self, distribution_id, if_match)

        models.DistributionConfig.__init__ = config_with_staging_flag
        backend_class.create_distribution_with_tags = create_checked
        backend_class.update_distribution = update_checked
        backend_class.delete_distribution = delete_checked
        if "Staging" not in models.DISTRIBUTION_CONFIG_FIELDS:
            models.DISTRIBUTION_CONFIG_FIELDS.append("Staging")


__all__ = ["ACCOUNT", "OPERATIONS", "StagingExtension"]
