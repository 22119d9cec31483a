"""SQS's own AWS/SQS metrics, read back through CloudWatch as a client of AWS reads them.

The first tests go through the server (botocore's CBOR client, and hand-signed JSON 1.0 and
query requests); the last ones drive sqs_metrics in this process against moto's backends, with
a clock moved forward (six hours of inactivity, minutes closing) where a server test would wait.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from cfrp_emulator import sqs_metrics


def _client(endpoint, service, region="us-east-1"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def _minute_now():
    return dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)


def _latest(cloudwatch, queue, metric, stat="Maximum", period=60):
    """The metric's newest datapoint over the last few minutes: (timestamp, value)."""
    now = _minute_now()
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SQS", "MetricName": metric, "Dimensions": [{"Name": "QueueName", "Value": queue}]},
                    "Period": period,
                    "Stat": stat,
                },
            }
        ],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=2),
        ScanBy="TimestampDescending",
    )
    series = result["MetricDataResults"][0]
    assert series["Values"], f"no {metric} datapoint for {queue}"
    return series["Timestamps"][0], series["Values"][0]


def _total(cloudwatch, queue, metric, stat="Sum"):
    """The metric's statistic over a window holding the whole test (one ten-minute period)."""
    return _latest(cloudwatch, queue, metric, stat=stat, period=600)[1]


def test_queue_depth_in_flight_sent_and_age(endpoint):
    sqs, cloudwatch = _client(endpoint, "sqs"), _client(endpoint, "cloudwatch")
    assert cloudwatch.meta.service_model.protocol == "smithy-rpc-v2-cbor"
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"message {i}")

    before = _minute_now()
    stamp, visible = _latest(cloudwatch, name, "ApproximateNumberOfMessagesVisible")
    assert visible == 3.0
    assert stamp in (before, _minute_now())  # the start of the current minute
    assert _latest(cloudwatch, name, "ApproximateNumberOfMessagesNotVisible")[1] == 0.0

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=120)["Messages"]
    assert len(received) == 1
    assert _latest(cloudwatch, name, "ApproximateNumberOfMessagesVisible")[1] == 2.0
    assert _latest(cloudwatch, name, "ApproximateNumberOfMessagesNotVisible")[1] == 1.0
    assert _latest(cloudwatch, name, "ApproximateNumberOfMessagesDelayed")[1] == 0.0

    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    assert _latest(cloudwatch, name, "ApproximateNumberOfMessagesNotVisible")[1] == 0.0
    assert _total(cloudwatch, name, "NumberOfMessagesSent") == 3.0
    assert _total(cloudwatch, name, "NumberOfMessagesReceived") == 1.0
    assert _total(cloudwatch, name, "NumberOfMessagesDeleted") == 1.0
    assert _total(cloudwatch, name, "SentMessageSize", stat="Average") == float(len("message 0"))
    assert _total(cloudwatch, name, "SentMessageSize", stat="SampleCount") == 3.0

    now = _minute_now()
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": name}],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=2),
        Period=60,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]
    newest = max(stats, key=lambda d: d["Timestamp"])
    assert newest["Unit"] == "Seconds"
    assert 0.0 <= newest["Maximum"] < 60.0
    assert newest["SampleCount"] == 1.0


def test_a_queue_is_published_in_its_own_region_only(endpoint):
    name = f"metrics-eu-{uuid.uuid4().hex[:8]}"
    sqs_eu = _client(endpoint, "sqs", "eu-west-1")
    url = sqs_eu.create_queue(QueueName=name)["QueueUrl"]
    sqs_eu.send_message(QueueUrl=url, MessageBody="hello")
    dimension = [{"Name": "QueueName", "Value": name}]

    here = _client(endpoint, "cloudwatch", "eu-west-1")
    listed = here.list_metrics(Namespace="AWS/SQS", Dimensions=dimension)["Metrics"]
    assert {"ApproximateNumberOfMessagesVisible", "NumberOfMessagesSent", "ApproximateAgeOfOldestMessage"} <= {m["MetricName"] for m in listed}
    assert _latest(here, name, "ApproximateNumberOfMessagesVisible")[1] == 1.0

    elsewhere = _client(endpoint, "cloudwatch", "us-east-1")
    assert elsewhere.list_metrics(Namespace="AWS/SQS", Dimensions=dimension)["Metrics"] == []


def _signed(endpoint, body, headers, region="us-east-1"):
    request = AWSRequest(method="POST", url=f"{endpoint}/", data=body, headers=headers)
    SigV4Auth(Credentials("testing", "testing"), "monitoring", region).add_auth(request)
    sent = urllib.request.Request(f"{endpoint}/", data=body, headers=dict(request.headers.items()), method="POST")
    with urllib.request.urlopen(sent, timeout=30) as response:
        return response.read()


def test_reads_over_json_and_query_publish_first(endpoint):
    sqs = _client(endpoint, "sqs")
    name = f"metrics-proto-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    now = _minute_now()
    window = (now - dt.timedelta(minutes=5), now + dt.timedelta(minutes=2))

    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")
    document = {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": name}],
        "StartTime": window[0].timestamp(),
        "EndTime": window[1].timestamp(),
        "Period": 60,
        "Statistics": ["Maximum"],
    }
    answer = json.loads(
        _signed(
            endpoint,
            json.dumps(document).encode(),
            {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricStatistics"},
        )
    )
    newest = max(answer["Datapoints"], key=lambda d: d["Timestamp"])
    assert newest["Maximum"] == 2.0

    sqs.send_message(QueueUrl=url, MessageBody="three")
    form = {
        "Action": "GetMetricStatistics",
        "Version": "2010-08-01",
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions.member.1.Name": "QueueName",
        "Dimensions.member.1.Value": name,
        "StartTime": window[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "EndTime": window[1].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Period": "60",
        "Statistics.member.1": "Maximum",
    }
    xml = _signed(endpoint, urllib.parse.urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    points = [
        (p.findtext("{*}Timestamp"), float(p.findtext("{*}Maximum")))
        for p in ET.fromstring(xml).iter()
        if p.tag.endswith("}member") and p.find("{*}Maximum") is not None
    ]
    assert max(points)[1] == 3.0


def test_post_publishes_now_and_answers_the_datums(endpoint):
    sqs = _client(endpoint, "sqs", "ap-southeast-2")
    name = f"metrics-post-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 10, DelaySeconds=60)

    before = _minute_now()
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_cfrp/sqs-metrics", data=b"", method="POST"), timeout=30) as response:
        datums = json.loads(response.read())
    mine = {d["MetricName"]: d for d in datums if d["Dimensions"] == [{"Name": "QueueName", "Value": name}]}
    assert set(mine) == set(sqs_metrics.GAUGES) | set(sqs_metrics.COUNTERS) | {sqs_metrics.SIZE}
    delayed = mine["ApproximateNumberOfMessagesDelayed"]
    assert (delayed["Value"], delayed["Unit"], delayed["Region"], delayed["Namespace"]) == (1.0, "Count", "ap-southeast-2", "AWS/SQS")
    assert delayed["Timestamp"] in {m.strftime("%Y-%m-%dT%H:%M:%SZ") for m in (before, _minute_now())}
    assert mine["ApproximateNumberOfMessagesVisible"]["Value"] == 0.0
    assert mine["SentMessageSize"]["StatisticValues"] == {"SampleCount": 1.0, "Sum": 10.0, "Minimum": 10.0, "Maximum": 10.0}
    assert mine["SentMessageSize"]["Unit"] == "Bytes"

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{endpoint}/_cfrp/sqs-metrics", timeout=30)
    assert err.value.code == 405


# In this process, against moto's backends, with the module's clock held: a minute passes when
# the test says so.


class _Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time() // 60) * 60 + 10)

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def local(monkeypatch):
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.sqs.models import sqs_backends

    sqs_metrics.apply()
    clock = _Clock()
    monkeypatch.setattr(sqs_metrics, "_clock", clock)
    account = f"{uuid.uuid4().int % 10**12:012d}"
    return sqs_backends[account]["us-east-1"], cloudwatch_backends[account]["us-east-1"], clock


def _stored(cloudwatch, queue, metric):
    """{timestamp: datum} of what was published for a queue and metric."""
    found = {}
    for datum in cloudwatch.metric_data:
        if datum.namespace == "AWS/SQS" and datum.name == metric and [(d.name, d.value) for d in datum.dimensions] == [("QueueName", queue)]:
            assert datum.timestamp not in found, "one datum per queue, metric and minute"
            found[datum.timestamp] = datum
    return found


def _of(datums, queue, metric):
    """The values written for a queue and metric in the current minute (a publication also
    closes earlier minutes' counts)."""
    minute = dt.datetime.fromtimestamp(sqs_metrics._minute(sqs_metrics._clock()), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [d["Value"] for d in datums if d["MetricName"] == metric and d["Dimensions"][0]["Value"] == queue and d["Timestamp"] == minute]


def test_an_idle_empty_queue_sleeps_after_six_hours(local):
    sqs, _, clock = local
    scope = (sqs.account_id, "us-east-1")
    sqs.create_queue("idle")
    sqs.create_queue("holding")
    sqs.send_message("holding", "still here")
    assert _of(sqs_metrics.publish(scope=scope), "idle", "ApproximateNumberOfMessagesVisible") == [0.0]

    clock.now += 6 * 3600 - 60
    assert _of(sqs_metrics.publish(scope=scope), "idle", "ApproximateNumberOfMessagesVisible") == [0.0]
    clock.now += 120
    written = sqs_metrics.publish(scope=scope)
    assert not [d for d in written if d["Dimensions"][0]["Value"] == "idle"]
    # A queue holding a message stays active, and its message has aged.
    assert _of(written, "holding", "ApproximateAgeOfOldestMessage")[0] >= 6 * 3600 + 60 - 60
    # Any action on the queue wakes it.
    sqs.get_queue_attributes("idle", ["All"])
    assert _of(sqs_metrics.publish(scope=scope), "idle", "ApproximateNumberOfMessagesVisible") == [0.0]


def test_a_minute_over_keeps_its_final_counts_and_a_minute_is_replaced_not_appended(local):
    sqs, cloudwatch, clock = local
    scope = (sqs.account_id, "us-east-1")
    sqs.create_queue("counted")
    sqs.send_message("counted", "a")
    sqs_metrics.publish(scope=scope)
    sqs.send_message("counted", "bb")
    sqs_metrics.publish(scope=scope)
    minute = dt.datetime.fromtimestamp(clock.now - 10, dt.timezone.utc).replace(tzinfo=None)
    assert _stored(cloudwatch, "counted", "ApproximateNumberOfMessagesVisible")[minute].value == 2.0
    sqs.send_message("counted", "ccc")  # after the minute's last publication

    clock.now += 60
    sqs_metrics.publish(scope=scope)
    next_minute = minute + dt.timedelta(minutes=1)
    sent = _stored(cloudwatch, "counted", "NumberOfMessagesSent")
    assert (sent[minute].value, sent[next_minute].value) == (3.0, 0.0)  # final count; an active queue reports 0
    sizes = _stored(cloudwatch, "counted", "SentMessageSize")
    assert (sizes[minute].sample_count, sizes[minute].sum, sizes[minute].min, sizes[minute].max) == (3.0, 6.0, 1.0, 3.0)
    assert next_minute not in sizes  # no sends, no SentMessageSize
    assert _stored(cloudwatch, "counted", "ApproximateNumberOfMessagesVisible")[next_minute].value == 3.0


def test_age_leaves_out_poison_pills_and_restarts_in_the_dead_letter_queue(local):
    sqs, _, clock = local
    scope = (sqs.account_id, "us-east-1")
    sqs.create_queue("pills")
    sqs.send_message("pills", "poison")
    clock.now += 600
    sqs.send_message("pills", "young")
    poison, young = sqs.queues["pills"]._messages
    clock.now += 60
    assert _of(sqs_metrics.publish(scope=scope), "pills", "ApproximateAgeOfOldestMessage") == [660.0]
    for _ in range(3):
        poison.mark_received(visibility_timeout=0)
    assert _of(sqs_metrics.publish(scope=scope), "pills", "ApproximateAgeOfOldestMessage") == [60.0]

    dlq = sqs.create_queue("dead")
    sqs.create_queue("source", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": 1}))
    sqs.send_message("source", "fails")
    clock.now += 3600
    assert len(sqs.receive_message("source", 1, 0, 0)) == 1
    assert sqs.receive_message("source", 1, 0, 0) == []  # moved to the dead-letter queue
    clock.now += 5
    written = sqs_metrics.publish(scope=scope)
    assert _of(written, "dead", "ApproximateNumberOfMessagesVisible") == [1.0]
    assert _of(written, "dead", "ApproximateAgeOfOldestMessage") == [5.0]  # since the move, not the send
    assert _of(written, "source", "NumberOfEmptyReceives") == [1.0]
    assert _of(written, "source", "NumberOfMessagesReceived") == [1.0]
    assert _of(written, "dead", "NumberOfMessagesSent") == [0.0]  # a move is not a send
