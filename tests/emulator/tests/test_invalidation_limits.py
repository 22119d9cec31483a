"""CloudFront's limits on invalidations in progress (3,000 file paths and 15 wildcard paths per
distribution), the per-request checks CreateInvalidation documents, and the hold that keeps
invalidations in progress (botocore as the client)."""

import json
import time
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from cfrp_emulator import latency
from conftest import LATENCY_SCALE

TOO_MANY = "Processing your request will cause you to exceed the maximum number of in-progress invalidations."


def _control(endpoint, method="GET", document=None):
    data = None if document is None else json.dumps(document).encode()
    request = urllib.request.Request(f"{endpoint}/_cfrp/invalidations", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture()
def held(endpoint):
    status, state = _control(endpoint, "POST", {"hold": True})
    assert status == 200 and state["hold"] is True
    try:
        yield
    finally:
        _control(endpoint, "POST", {"hold": False})


def _distribution(cloudfront):
    config = {
        "CallerReference": f"limits-{uuid.uuid4()}",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def _invalidate(cloudfront, dist_id, paths, quantity=None):
    batch = {"Paths": {"Quantity": len(paths) if quantity is None else quantity, "Items": paths}, "CallerReference": str(uuid.uuid4())}
    return cloudfront.create_invalidation(DistributionId=dist_id, InvalidationBatch=batch)["Invalidation"]


def _files(prefix, n):
    return [f"/{prefix}/file-{i}.html" for i in range(n)]


def _wildcards(prefix, n):
    return [f"/{prefix}/dir-{i}/*" for i in range(n)]


def _count(cloudfront, dist_id):
    return cloudfront.list_invalidations(DistributionId=dist_id)["InvalidationList"]["Quantity"]


def _refused(cloudfront, dist_id, paths, code="TooManyInvalidationsInProgress", status=400, message=TOO_MANY, **kwargs):
    before = _count(cloudfront, dist_id)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        _invalidate(cloudfront, dist_id, paths, **kwargs)
    response = err.value.response
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    if message is not None:
        assert response["Error"]["Message"] == message
    assert _count(cloudfront, dist_id) == before, "a refused request created an invalidation"
    return err.value


def test_3000_file_paths_in_progress_then_one_more_is_refused_until_released(cloudfront, endpoint, held):
    dist, other = _distribution(cloudfront), _distribution(cloudfront)
    first = _invalidate(cloudfront, dist, _files("a", 2000))
    second = _invalidate(cloudfront, dist, _files("b", 1000))
    assert first["Status"] == second["Status"] == "InProgress"
    refused = _refused(cloudfront, dist, ["/one-more.html"])
    assert isinstance(refused, cloudfront.exceptions.TooManyInvalidationsInProgress)
    # Wildcards are counted apart from files; another distribution has its own limits.
    _invalidate(cloudfront, dist, ["/assets/*"])
    _invalidate(cloudfront, other, _files("c", 3000))
    assert _control(endpoint)[1]["in_progress"][dist] == {"files": 3000, "wildcards": 1}
    assert cloudfront.get_invalidation(DistributionId=dist, Id=first["Id"])["Invalidation"]["Status"] == "InProgress"
    listed = cloudfront.list_invalidations(DistributionId=dist)["InvalidationList"]["Items"]
    assert {i["Status"] for i in listed} == {"InProgress"}

    status, state = _control(endpoint, "POST", {"hold": False})
    assert status == 200 and state["hold"] is False and dist not in state["in_progress"]
    assert cloudfront.get_invalidation(DistributionId=dist, Id=first["Id"])["Invalidation"]["Status"] == "Completed"
    assert _invalidate(cloudfront, dist, ["/one-more.html"])["Status"] == "InProgress"
    assert _count(cloudfront, dist) == 4


def test_15_wildcard_paths_in_progress_then_one_more_is_refused_until_released(cloudfront, endpoint, held):
    dist, other = _distribution(cloudfront), _distribution(cloudfront)
    _invalidate(cloudfront, dist, _wildcards("w", 10))
    for i in range(5):
        _invalidate(cloudfront, dist, [f"/single-{i}*"])
    _refused(cloudfront, dist, ["/sixteenth/*"])
    # A request of files and one wildcard is refused whole.
    _refused(cloudfront, dist, ["/index.html", "/sixteenth/*"])
    _invalidate(cloudfront, dist, _files("f", 10))
    _invalidate(cloudfront, other, _wildcards("o", 15))
    assert _control(endpoint)[1]["in_progress"][dist] == {"files": 10, "wildcards": 15}

    _control(endpoint, "POST", {"hold": False})
    _invalidate(cloudfront, dist, ["/sixteenth/*"])
    assert _count(cloudfront, dist) == 8


def test_invalidations_completed_before_a_hold_stay_completed(cloudfront, endpoint):
    dist = _distribution(cloudfront)
    _invalidate(cloudfront, dist, _wildcards("before", 15))
    assert _control(endpoint, "POST", {"hold": True})[0] == 200
    try:
        _invalidate(cloudfront, dist, _wildcards("during", 15))
        _refused(cloudfront, dist, ["/after/*"])
    finally:
        _control(endpoint, "POST", {"hold": False})


def test_by_default_nothing_stays_in_progress_and_only_one_oversized_request_is_refused(cloudfront, endpoint):
    assert _control(endpoint)[1]["hold"] is False
    assert _control(endpoint)[1]["duration_seconds"] == 0
    dist = _distribution(cloudfront)
    for i in range(16):
        _invalidate(cloudfront, dist, [f"/w{i}/*"])
    _invalidate(cloudfront, dist, _files("x", 3000))
    _invalidate(cloudfront, dist, _files("y", 3000))
    assert dist not in _control(endpoint)[1]["in_progress"]
    # Today's status sequence: InProgress when created and on the first read, then Completed.
    created = _invalidate(cloudfront, dist, ["/status.html"])
    assert created["Status"] == "InProgress"
    reads = [cloudfront.get_invalidation(DistributionId=dist, Id=created["Id"])["Invalidation"]["Status"] for _ in range(3)]
    assert reads == ["InProgress", "Completed", "Completed"]
    # One request alone may not exceed the limits ("one invalidation request for up to 3,000 files").
    _refused(cloudfront, dist, _files("z", 3001))
    _refused(cloudfront, dist, _wildcards("z", 16))


def test_a_repeated_caller_reference_is_not_refused_by_the_limits(cloudfront, held):
    dist = _distribution(cloudfront)
    batch = {"Paths": {"Quantity": 15, "Items": _wildcards("r", 15)}, "CallerReference": "limits-repeat"}
    first = cloudfront.create_invalidation(DistributionId=dist, InvalidationBatch=batch)["Invalidation"]
    again = cloudfront.create_invalidation(DistributionId=dist, InvalidationBatch=batch)["Invalidation"]
    assert again["Id"] == first["Id"]
    assert _count(cloudfront, dist) == 1


def test_per_request_checks(cloudfront, endpoint):
    dist = _distribution(cloudfront)
    _refused(cloudfront, dist, ["/a.html", "/b.html"], code="InconsistentQuantities", message="The value of Quantity and the size of Items don't match.", quantity=3)
    invalid = "Your request contains one or more invalid invalidation paths."
    for path in ("no-leading-slash.html", "/images/*/logo.png", "/" + "a" * 4000):
        _refused(cloudfront, dist, ["/fine.html", path], code="InvalidArgument", message=invalid)
    _invalidate(cloudfront, dist, ["/" + "a" * 3999, "/images/logo.png*"])
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        _invalidate(cloudfront, "ENOSUCHDIST", ["/a.html"])
    assert missing.value.response["Error"]["Code"] == "NoSuchDistribution"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    request = urllib.request.Request(f"{endpoint}/2020-05-31/distribution/{dist}/invalidation", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as empty:
        urllib.request.urlopen(request, timeout=10)
    assert empty.value.code == 400
    assert b"<Code>MissingBody</Code>" in empty.value.read()
    assert _count(cloudfront, dist) == 1


def test_the_control_endpoint_refuses_what_it_does_not_understand(endpoint):
    assert _control(endpoint, "POST", {"hold": "yes"})[0] == 400
    assert _control(endpoint, "DELETE")[0] == 405
    assert _control(endpoint)[1]["hold"] is False


def test_under_the_latency_model_an_invalidation_is_in_progress_for_the_model_time(slow_endpoint):
    cloudfront = boto3.client(
        "cloudfront",
        endpoint_url=slow_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )
    assert _control(slow_endpoint)[1]["duration_seconds"] == pytest.approx(latency.FIGURES["invalidation_completed"] * LATENCY_SCALE)
    dist = _distribution(cloudfront)
    created = _invalidate(cloudfront, dist, _wildcards("slow", 15))
    _refused(cloudfront, dist, ["/slow/one-more/*"])
    assert cloudfront.get_invalidation(DistributionId=dist, Id=created["Id"])["Invalidation"]["Status"] == "InProgress"
    time.sleep(latency.FIGURES["invalidation_completed"] * LATENCY_SCALE + 0.05)
    assert cloudfront.get_invalidation(DistributionId=dist, Id=created["Id"])["Invalidation"]["Status"] == "Completed"
    _invalidate(cloudfront, dist, ["/slow/one-more/*"])
