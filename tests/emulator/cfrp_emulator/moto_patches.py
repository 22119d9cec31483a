"""Small corrections to moto's CloudFront model, each to what the CloudFront API reference says.

Bucket policy conditions (IAM policy evaluation logic): a statement applies only when its
Condition holds; one whose condition does not hold neither allows nor denies. moto 5.2 answers
DENIED for any statement whose condition does not match, so a bucket with the usual TLS-only
statement (Deny when `aws:SecureTransport` is false) refused every object request. The
emulator stands for AWS's HTTPS endpoints (the SDK speaks TLS to AWS; the tests' loopback
HTTP carries the same calls), so it evaluates bucket policies with `aws:SecureTransport` true.

CreateInvalidation: "If you make a second invalidation request with the same value for
CallerReference, and if the rest of the request is the same, CloudFront doesn't create a new
invalidation request. Instead, CloudFront returns information about the invalidation request
that you previously created with the same CallerReference. If CallerReference is a value you
already sent in a previous invalidation batch request but the content of any Path is
different from the original request, CloudFront returns an InvalidationBatchAlreadyExists
error." moto 5.2 creates a new invalidation every time.

CloudWatch percentile statistics (`p50`, `p99.9`, ...): CloudWatch computes them from the
samples a metric received (`Values`/`Counts` included); moto 5.2 answers None for them. The
emulator computes the nearest-rank percentile over the samples moto stored.

moto 5.2 drops a cache behaviour's FunctionAssociations and LambdaFunctionAssociations
(it stores `{"Quantity": 0}` whatever the request said). CloudFront keeps them and returns them
from GetDistribution/GetDistributionConfig, and the deployer reads them back to converge, so the
emulator keeps what the request carried.

Distribution ETags and deletion: CloudFront answers PreconditionFailed (412) when If-Match is
not the distribution's current ETag, gives every update a new ETag and puts the distribution
back InProgress, and refuses to delete a distribution that is still enabled
(DistributionNotDisabled). moto 5.2 ignores If-Match, keeps one ETag forever and deletes
enabled distributions.

Invalidation status: CloudFront answers `InProgress` from CreateInvalidation and then
`Completed` once the edges have dropped the paths (the API reference's two values). moto 5.2
creates every invalidation as `COMPLETED`, a value CloudFront never sends. The status, how long
an invalidation stays in progress and CloudFront's limits on what is in progress are
invalidation_limits.py's.

S3 GetBucketNotificationConfiguration on a bucket without notifications returns an empty
`<NotificationConfiguration/>` document; moto 5.2 answers with a `GetBucketNotificationResponse`
root that the SDKs reject. GetBucketVersioning likewise: S3 answers a `<VersioningConfiguration>`
document (empty for a bucket that was never versioned, else its `Status` and `MfaDelete`);
moto 5.2 answers a `GetBucketVersioningResponse` root, which the Rust SDK refuses to parse (the
emulator renders `Status`; moto keeps no MfaDelete).

SQS SetQueueAttributes changes the attributes it names and no others; an empty `Policy`
removes the policy and an empty `KmsMasterKeyId` the key (the queue then falls back to
SSE-SQS). moto 5.2 drops a queue's Policy on any SetQueueAttributes that does not name it, and
keeps an empty KmsMasterKeyId as the key.

Lambda's pollers are not emulated. moto 5.2 runs a function (in docker) from inside SQS
SendMessage and Kinesis PutRecord when an event source mapping exists, and on failure puts the
messages back, counting receives towards the dead-letter queue. Here Lambda records the
mapping (so the deployer reads it back) but queues and streams never fire it: the tests play
the poller, reading the messages and running the real bootstrap under the Runtime API
emulator.
"""

from __future__ import annotations

from typing import Any

import math
import re

from moto.cloudfront import models
from moto.cloudwatch import models as cloudwatch_models
from moto.cloudfront.exceptions import CloudFrontException


class InvalidationBatchAlreadyExists(CloudFrontException):
    def __init__(self) -> None:
        super().__init__(
            "InvalidationBatchAlreadyExists",
            "The CallerReference was used before with a different invalidation batch.",
        )

class PreconditionFailed(CloudFrontException):

    def __init__(self) -> None:
        super().__init__(
            "PreconditionFailed",
            "The precondition given in one or more of the request-header fields evaluated to false.",
        )


class DistributionNotDisabled(CloudFrontException):

    def __init__(self) -> None:
        super().__init__(
            "DistributionNotDisabled",
            "The distribution you are trying to delete has not been disabled.",
        )


def _is_enabled(dist: Any) -> bool:
    enabled = getattr(dist.distribution_config, "Enabled", True)
    return str(enabled).lower() != "false"


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    original = models.DefaultCacheBehaviour.__init__

    def __init__(self: Any, config: dict[str, Any]) -> None:
        original(self, config)
        for key, attribute in (
            ("FunctionAssociations", "function_associations"),
            ("LambdaFunctionAssociations", "lambda_function_associations"),
        ):
            given = config.get(key)
            if given:
                setattr(self, attribute, {"Quantity": len(given.get("Items") or []), **given})

    models.DefaultCacheBehaviour.__init__ = __init__

    create_invalidation = models.CloudFrontBackend.create_invalidation

    def create_invalidation_once(self: Any, dist_id: str, paths: list[str], caller_ref: str) -> Any:
        for existing in self.invalidations.get(dist_id) or []:
            if existing.caller_ref == caller_ref:
                if list(existing.paths) != list(paths):
                    raise InvalidationBatchAlreadyExists()
                return existing
        return create_invalidation(self, dist_id, paths, caller_ref)

    models.CloudFrontBackend.create_invalidation = create_invalidation_once

    statistic = cloudwatch_models.Statistics.get_statistics_for_type
    percentile = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        found = percentile.match(stat)
        if not found:
            return statistic(self, stat)
        samples = sorted(self.metric_single_values_list)
        if not samples:
            return None
        rank = max(1, math.ceil(float(found.group(1)) / 100 * len(samples)))
        return samples[min(rank, len(samples)) - 1]

    cloudwatch_models.Statistics.get_statistics_for_type = get_statistics_for_type

    # moto matches a query's dimensions to a datum's by comparing both lists sorted, but its
    # Dimension ordering compares a value with a name (`self.value < other.name`), so some
    # sets stay in their given order: a datum put with Rule=rate-limit, WebACL=x was not found
    # by a query naming WebACL=x, Rule=rate-limit. CloudWatch matches a metric by its set of
    # dimensions, whatever their order; order by (name, value).
    def dimension_lt(self: Any, other: Any) -> bool:
        return (self.name or "", self.value or "") < (other.name or "", other.value or "")

    cloudwatch_models.Dimension.__lt__ = dimension_lt

    update_distribution = models.CloudFrontBackend.update_distribution

    def update_distribution_checked(self: Any, dist_config: dict[str, Any], _id: str, if_match: Any) -> Any:
        dist = self.distributions.get(_id)
        if dist is not None and if_match and if_match != dist.etag:
            raise PreconditionFailed()
        result = update_distribution(self, dist_config, _id, if_match)
        dist = self.distributions[_id]
        dist.etag = models.random_id()
        dist.status = "InProgress"
        return dist, dist.location, dist.etag

    models.CloudFrontBackend.update_distribution = update_distribution_checked

    delete_distribution = models.CloudFrontBackend.delete_distribution

    def delete_distribution_checked(self: Any, distribution_id: str, if_match: Any) -> None:
        dist = self.distributions.get(distribution_id)
        if dist is not None:
            if if_match and if_match != dist.etag:
                raise PreconditionFailed()
            if _is_enabled(dist):
                raise DistributionNotDisabled()
        delete_distribution(self, distribution_id, if_match)

    models.CloudFrontBackend.delete_distribution = delete_distribution_checked

    from moto.iam import access_control, policy_conditions
    from moto.s3 import models as s3_models

    # moto evaluates StringEquals only and takes any other operator as holding; `Bool`
    # compares a boolean key with "true"/"false" (either case, or a list of them).
    def bool_operation(expected: Any, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return str(actual).lower() in {str(v).lower() for v in values}

    policy_conditions.CONDITION_OPERATIONS.setdefault("Bool", bool_operation)

    statement_permitted = access_control.IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self: Any, action: str, resource: str = "*", principal: Any = None, incoming_condition_values: Any = None) -> Any:
        concerned = (
            not self._check_element_matches("NotAction", action)
            if "NotAction" in self._statement
            else self._check_element_matches("Action", action)
        )
        if concerned and self._statement.get("Condition") and not self._check_conditions(incoming_condition_values):
            return access_control.PermissionResult.NEUTRAL
        return statement_permitted(self, action, resource, principal, incoming_condition_values)

    access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return access_control.PermissionResult.NEUTRAL
        policy = access_control.IAMPolicy(self.policy.decode())
        return policy.is_action_permitted(action, resource, None, {"aws:SecureTransport": "true"})

    s3_models.FakeBucket.get_permission = get_permission

    from moto.s3 import responses as s3_responses

    get_notification = s3_responses.S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        if not self.backend.get_bucket_notification_configuration(self.bucket_name):
            return 200, {"Content-Type": "application/xml"}, (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
            )
        return get_notification(self)

    s3_responses.S3Response.get_bucket_notification = get_bucket_notification

    def get_bucket_versioning(self: Any) -> Any:
        status = self.backend.get_bucket_versioning(self.bucket_name)
        body = f"<Status>{status}</Status>" if status else ""
        return 200, {"Content-Type": "application/xml"}, (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{body}'
            "</VersioningConfiguration>"
        )

    s3_responses.S3Response.get_bucket_versioning = get_bucket_versioning

    from moto.kinesis import models as kinesis_models
    from moto.sqs import models as sqs_models

    set_attributes = sqs_models.Queue._set_attributes

    def set_only_named_attributes(self: Any, attributes: dict[str, Any], now: Any = None) -> None:
        kept_policy = getattr(self, "policy", None)
        set_attributes(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = kept_policy
        elif not attributes["Policy"]:
            self.policy = None
        if attributes.get("KmsMasterKeyId") == "":
            self.kms_master_key_id = None
            self.sqs_managed_sse_enabled = "true"

    sqs_models.Queue._set_attributes = set_only_named_attributes

    # A fresh empty dict on every read: registrations go nowhere, nothing ever fires.
    unpolled = property(lambda self: {}, lambda self, value: None)
    sqs_models.Queue.lambda_event_source_mappings = unpolled
    if hasattr(kinesis_models, "Stream"):
        kinesis_models.Stream.lambda_event_source_mappings = unpolled
