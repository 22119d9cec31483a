"""The `AWS/SQS` metrics SQS publishes to CloudWatch by itself; moto publishes none.

Sources (AWS SQS developer guide):
- "Available CloudWatch metrics for Amazon SQS",
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
  (the live page, and its earlier revision in awsdocs/amazon-sqs-developer-guide,
  doc_source/sqs-available-cloudwatch-metrics.md at 403d48ef): namespace `AWS/SQS`; "The only
  dimension that Amazon SQS sends to CloudWatch is `QueueName`"; every metric's Valid
  Statistics are "Average, Minimum, Maximum, Sum, Data Samples (displays as Sample Count in the
  Amazon SQS console)"; units Count, Seconds (the age) and Bytes (SentMessageSize); "All
  metrics emit non-negative values only when the queue is active"; "Some metrics (such as
  SentMessageSize) are not emitted until at least one message is sent".
- "Monitoring Amazon SQS queues using CloudWatch",
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-monitoring-using-cloudwatch.html:
  metrics "are automatically collected and pushed to CloudWatch at one-minute intervals";
  "CloudWatch considers a queue to be active for up to six hours if it contains any messages or
  if any action accesses it"; a queue inactive for more than six hours is considered asleep and
  SQS stops delivering its metrics.

What is published, per queue and minute, in the queue's own account and region, with the
dimension `QueueName`, timestamped at the start of the minute (the doc's wording, then how):

| metric | unit | the doc | computed here |
| --- | --- | --- | --- |
| ApproximateNumberOfMessagesVisible | Count | "The number of messages available for retrieval from the queue" | messages neither in flight nor delayed, as moto's GetQueueAttributes ApproximateNumberOfMessages counts them |
| ApproximateNumberOfMessagesNotVisible | Count | "messages that are in flight ... sent to a client but have not yet been deleted or have not yet reached the end of their visibility window" | messages whose visibility timeout has not ended |
| ApproximateNumberOfMessagesDelayed | Count | "delayed and not available for reading immediately ... a delay queue or ... a delay parameter" | messages whose delay has not ended |
| ApproximateAgeOfOldestMessage | Seconds | "The approximate age of the oldest non-deleted message in the queue"; for a standard queue a message "received three times (or more) and not processed" is moved to the back and not counted (poison pill); in a dead-letter queue it "represents the time when the message was moved to the dead-letter queue (not the original time the message was sent)"; FIFO queues don't reorder | whole seconds since the oldest message still in the queue entered it (sent, or moved there by a redrive policy), leaving out, in standard queues, messages received 3 or more times since they entered it; 0 when there is none |
| NumberOfMessagesSent | Count | "The number of messages added to a queue" | SendMessage / SendMessageBatch entries added in that minute (a FIFO duplicate is not added; a redrive move to a dead-letter queue is not a send) |
| NumberOfMessagesReceived | Count | "The number of messages returned by calls to the ReceiveMessage action" | messages ReceiveMessage returned in that minute |
| NumberOfMessagesDeleted | Count | "every successful deletion operation that uses a valid receipt handle, including duplicate deletions" | DeleteMessage / DeleteMessageBatch entries that succeeded in that minute, repeats included |
| NumberOfEmptyReceives | Count | "The number of ReceiveMessage API calls that did not return a message" | ReceiveMessage calls of that minute that returned none |
| SentMessageSize | Bytes | "The size of messages added to a queue"; not emitted until a message is sent | one statistic set per minute with sends: SampleCount messages, Sum/Minimum/Maximum of their sizes (body plus each attribute's name, type and value, in bytes) |

The gauges (the first four) are one sample per minute: Maximum, Minimum, Average and Sum over a
one-minute period are the sample, SampleCount 1; over longer periods the statistics of the
minutes' samples. The counters are one datum per minute whose value is the minute's count
(Sum and Maximum the count, SampleCount 1); SentMessageSize is a statistic set whose
SampleCount is the number of messages sent that minute, so its Average is their mean size.
Every metric but SentMessageSize is published for every active queue every minute, 0 included:
the page says values are emitted "only when the queue is active", its earlier revision says
"A non-negative value is reported if the queue is active" for each of them. The live page's
"Reporting behavior" column ("Reported if in-flight messages exist", "... if delayed messages
exist") is read as when the value is non-zero, not as a gap in the series.

Active (modelled): a queue holding any message, or accessed (any action naming it, CreateQueue
included) within the last six hours; a queue inactive for longer gets no datapoints. The
publisher's own reads are not accesses.

When:
- a background thread publishes just after every minute starts (as SQS's one-minute pushes),
  which also closes the previous minute's counts;
- on demand, before moto answers a CloudWatch read of an account and region (every backend
  call that reads metrics - GetMetricData, GetMetricStatistics, ListMetrics - or alarms -
  DescribeAlarms, DescribeAlarmsForMetric), whatever protocol carried it (CBOR through the
  bridge, JSON 1.0, query), that account and region's queues are published. The current
  minute's datapoint is *replaced* each time with the current value (the first read of a
  minute creates it). A reader of AWS sees one value per queue and minute, sampled during that
  minute; replacing means that value is the queue's state when it was last looked at, so a read
  right after a change sees it and a minute that is over keeps the last value published in it.
  Appending instead would make a minute's Maximum remember states already left.
- `POST /_cfrp/sqs-metrics` publishes every account and region now and answers the datums
  written, as JSON.

Limits: no publication delay (AWS's datapoints arrive minutes late; here at once); counts are
exact (the footnote's "calculated from a service perspective, and can include retries" is not
modelled); FIFO-only ApproximateNumberOfGroupsWithInflightMessages and
NumberOfDeduplicatedSentMessages are not published; moto's CloudWatch evaluates no alarm, so an
alarm on these metrics is read, not triggered; a minute with neither a read nor the thread's
publication (a stalled server) has no gauges; moto never expires a message past its retention
period, so neither do the depth and the age; every active queue adds about nine datums a minute
to moto's CloudWatch, which scans them all on each read.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

NAMESPACE = "AWS/SQS"
DIMENSION = "QueueName"
INACTIVE_AFTER = 6 * 3600.0  # seconds: "active for up to six hours"
POISON_PILL_RECEIVES = 3  # "received three times (or more) and not processed"

GAUGES = (
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateAgeOfOldestMessage",
)
COUNTERS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted", "NumberOfEmptyReceives")
SIZE = "SentMessageSize"

_lock = threading.RLock()
# (account, region, queue name) -> (the SQS backend's queues dict the events belong to,
# {minute start (epoch seconds): counts}); the dict tells a moto reset apart.
_events: dict[tuple[str, str, str], tuple[dict, dict[int, "_Counts"]]] = {}
# (account, region, queue name, metric, minute start) -> (the CloudWatch backend's list the
# datum is in, the datum): what a later publication of the same minute replaces.
_written: dict[tuple[str, str, str, str, int], tuple[list, Any]] = {}
_applied = False
_clock = time.time  # the tests in this process move it


@dataclass
class _Counts:
    sent: int = 0
    received: int = 0
    deleted: int = 0
    empty_receives: int = 0
    size_count: int = 0
    size_sum: float = 0.0
    size_min: float = 0.0
    size_max: float = 0.0

    def add_size(self, size: int) -> None:
        if self.size_count == 0:
            self.size_min = self.size_max = float(size)
        else:
            self.size_min = min(self.size_min, float(size))
            self.size_max = max(self.size_max, float(size))
        self.size_count += 1
        self.size_sum += size


def _minute(now: float) -> int:
    return int(now // 60) * 60


def _record(backend: Any, queue_name: str, change: Any) -> None:
    """Counts an event of this minute for a queue (the clock is read under the lock, so an
    event never lands in a minute a publication has already closed)."""
    with _lock:
        key = (backend.account_id, backend.region_name, queue_name)
        owner, minutes = _events.get(key, (None, None))
        if owner is not backend.queues:
            owner, minutes = backend.queues, {}
            _events[key] = (owner, minutes)
        counts = minutes.setdefault(_minute(_clock()), _Counts())
        change(counts)


def message_size(message: Any) -> int:
    """A message's size as SQS counts it: the body and every attribute's name, type and value."""
    size = len(str(message.body).encode("utf-8"))
    for name, attribute in (message.message_attributes or {}).items():
        size += len(name.encode("utf-8")) + len(str(attribute.get("DataType", "")).encode("utf-8"))
        value = attribute.get("StringValue")
        if value is None:
            value = attribute.get("BinaryValue") or b""
        size += len(value.encode("utf-8") if isinstance(value, str) else bytes(value))
    return size


def _active(queue: Any, messages: list, now: float) -> bool:
    if messages:
        return True
    last = getattr(queue, "_cfrp_last_access", None) or queue.created_timestamp
    return now - last <= INACTIVE_AFTER


def _entered(message: Any, queue: Any) -> tuple[float, int]:
    """When a message entered this queue (epoch seconds) and its receive count then."""
    stamp = getattr(message, "_cfrp_entered", None)
    if stamp and stamp[0] == queue.queue_arn:
        return stamp[1], stamp[2]
    return (message.sent_timestamp or 0) / 1000.0, 0


def gauges(queue: Any, now: float) -> dict[str, float]:
    """The queue's four gauges at `now`, with moto's own definitions of visible, in flight and
    delayed (Message.visible / Message.delayed) evaluated at that time."""
    messages = list(queue._messages)
    now_ms = now * 1000.0
    in_flight = [m for m in messages if not now_ms > m.visible_at]
    delayed = [m for m in messages if now_ms < m.delayed_until]
    visible = [m for m in messages if now_ms > m.visible_at and not now_ms < m.delayed_until]
    oldest = None
    for message in messages:
        since, receives_then = _entered(message, queue)
        if not queue.fifo_queue and message.approximate_receive_count - receives_then >= POISON_PILL_RECEIVES:
            continue
        oldest = since if oldest is None else min(oldest, since)
    return {
        "ApproximateNumberOfMessagesVisible": float(len(visible)),
        "ApproximateNumberOfMessagesNotVisible": float(len(in_flight)),
        "ApproximateNumberOfMessagesDelayed": float(len(delayed)),
        "ApproximateAgeOfOldestMessage": float(max(0, int(now - oldest))) if oldest is not None else 0.0,
    }


def _counter_values(counts: _Counts) -> dict[str, Any]:
    values: dict[str, Any] = {
        "NumberOfMessagesSent": float(counts.sent),
        "NumberOfMessagesReceived": float(counts.received),
        "NumberOfMessagesDeleted": float(counts.deleted),
        "NumberOfEmptyReceives": float(counts.empty_receives),
    }
    if counts.size_count:
        values[SIZE] = {"SampleCount": float(counts.size_count), "Sum": counts.size_sum, "Minimum": counts.size_min, "Maximum": counts.size_max}
    return values


def _unit(metric: str) -> str:
    if metric == "ApproximateAgeOfOldestMessage":
        return "Seconds"
    if metric == SIZE:
        return "Bytes"
    return "Count"


def _write(account: str, region: str, queue_name: str, metric: str, minute: int, value: Any) -> dict[str, Any]:
    """Puts (or replaces) the minute's datum in moto's CloudWatch backend, as the objects moto's
    own put_metric_data stores."""
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, cloudwatch_backends

    store = cloudwatch_backends[account][region].metric_data
    ident = (account, region, queue_name, metric, minute)
    held = _written.get(ident)
    datum = held[1] if held is not None and held[0] is store else None
    stamp = dt.datetime.fromtimestamp(minute, dt.timezone.utc).replace(tzinfo=None)
    dimensions = [{"Name": DIMENSION, "Value": queue_name}]
    if isinstance(value, dict):
        if isinstance(datum, MetricAggregatedDatum):
            datum.sample_count, datum.sum, datum.min, datum.max = value["SampleCount"], value["Sum"], value["Minimum"], value["Maximum"]
        else:
            datum = MetricAggregatedDatum(NAMESPACE, metric, value["Minimum"], value["Maximum"], value["SampleCount"], value["Sum"], dimensions, stamp, _unit(metric))
            store.append(datum)
    else:
        if isinstance(datum, MetricDatum):
            datum.value = value
        else:
            datum = MetricDatum(NAMESPACE, metric, value, dimensions, stamp, _unit(metric))
            store.append(datum)
    _written[ident] = (store, datum)
    described: dict[str, Any] = {
        "AccountId": account,
        "Region": region,
        "Namespace": NAMESPACE,
        "MetricName": metric,
        "Dimensions": dimensions,
        "Timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Unit": _unit(metric),
    }
    described["StatisticValues" if isinstance(value, dict) else "Value"] = value
    return described


def _sqs_backends(scope: tuple[str, str] | None) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) of every SQS backend moto has made, or of one; dict.get and
    items() never make a backend that does not exist yet."""
    from moto.sqs.models import sqs_backends

    accounts = [scope[0]] if scope else list(dict.keys(sqs_backends))
    for account in accounts:
        per_account = dict.get(sqs_backends, account)
        if per_account is None:
            continue
        regions = [scope[1]] if scope else list(dict.keys(per_account))
        for region in regions:
            backend = dict.get(per_account, region)
            if backend is not None:
                yield account, region, backend


def publish(now: float | None = None, scope: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Publishes the current minute's datapoints of every active queue (of one account and
    region with `scope`), replacing what an earlier publication of this minute wrote, and closes
    the counts of minutes already over. Returns the datums written."""
    written: list[dict[str, Any]] = []
    with _lock:
        now = _clock() if now is None else now
        minute = _minute(now)
        for account, region, backend in _sqs_backends(scope):
            for queue in list(backend.queues.values()):
                messages = list(queue._messages)
                if not _active(queue, messages, now):
                    continue
                key = (account, region, queue.name)
                owner, minutes = _events.get(key, (None, {}))
                counts = minutes.get(minute) if owner is backend.queues else None
                values: dict[str, Any] = dict(gauges(queue, now))
                values.update(_counter_values(counts or _Counts()))
                for metric, value in values.items():
                    written.append(_write(account, region, queue.name, metric, minute, value))
            for key in [k for k in _events if k[:2] == (account, region)]:
                owner, minutes = _events[key]
                if owner is not backend.queues:
                    del _events[key]  # moto was reset: those queues and their counts are gone
                    continue
                for past in sorted(m for m in minutes if m < minute):
                    # A minute that is over: its final counts, even of a queue deleted since.
                    for metric, value in _counter_values(minutes.pop(past)).items():
                        written.append(_write(account, region, key[2], metric, past, value))
                if not minutes:
                    del _events[key]
            for ident in [i for i in _written if i[:2] == (account, region) and i[4] < minute]:
                del _written[ident]  # minutes that are over are not written again
    return written


def control(method: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """`POST /_cfrp/sqs-metrics`: publish every account and region now."""
    headers = [("Content-Type", "application/json")]
    if method != "POST":
        return 405, headers, json.dumps({"message": "POST publishes the SQS metrics now"}).encode()
    return 200, headers, json.dumps(publish()).encode()


def _every_minute() -> None:
    while True:
        time.sleep(60.0 - time.time() % 60.0 + 0.5)
        try:
            publish()
        except Exception as err:  # the publisher must outlive any one failure
            print(f"sqs_metrics: publication failed: {err!r}", file=sys.stderr, flush=True)


def apply(background: bool = False) -> None:
    """Counts SQS's events, marks queue accesses, publishes before CloudWatch's reads; with
    `background` also every minute."""
    global _applied
    if _applied:
        return
    _applied = True
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.sqs.models import Queue, SQSBackend

    def accessed(queue: Any) -> Any:
        queue._cfrp_last_access = _clock()
        return queue

    get_queue = SQSBackend.get_queue
    SQSBackend.get_queue = lambda self, queue_name: accessed(get_queue(self, queue_name))
    create_queue = SQSBackend.create_queue
    SQSBackend.create_queue = lambda self, *args, **kwargs: accessed(create_queue(self, *args, **kwargs))

    add_message = Queue.add_message

    def add_message_stamped(self: Any, message: Any) -> None:
        message._cfrp_entered = (self.queue_arn, _clock(), message.approximate_receive_count)
        add_message(self, message)

    Queue.add_message = add_message_stamped

    send_message = SQSBackend.send_message

    def send_message_counted(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send_message(self, queue_name, *args, **kwargs)
        queue = self.queues.get(queue_name)
        # A FIFO duplicate within the deduplication interval is accepted but not added.
        if queue is not None and any(m is message for m in reversed(queue._messages)):
            size = message_size(message)

            def sent(counts: _Counts) -> None:
                counts.sent += 1
                counts.add_size(size)

            _record(self, queue_name, sent)
        return message

    SQSBackend.send_message = send_message_counted

    receive_message = SQSBackend.receive_message

    def receive_message_counted(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        result = receive_message(self, queue_name, *args, **kwargs)

        def received(counts: _Counts) -> None:
            counts.received += len(result)
            if not result:
                counts.empty_receives += 1

        _record(self, queue_name, received)
        return result

    SQSBackend.receive_message = receive_message_counted

    delete_message = SQSBackend.delete_message

    def delete_message_counted(self: Any, queue_name: str, receipt_handle: str) -> None:
        delete_message(self, queue_name, receipt_handle)

        def deleted(counts: _Counts) -> None:
            counts.deleted += 1

        _record(self, queue_name, deleted)

    SQSBackend.delete_message = delete_message_counted

    # Every metric read goes through get_all_metrics (GetMetricData, GetMetricStatistics,
    # ListMetrics); the alarm reads through these. All protocols end in these backend calls.
    for name in ("get_all_metrics", "describe_alarms", "get_alarms_by_action_prefix", "get_alarms_by_alarm_name_prefix", "get_alarms_by_alarm_names", "get_alarms_by_state_value"):
        setattr(CloudWatchBackend, name, _published_first(getattr(CloudWatchBackend, name)))

    if background:
        threading.Thread(target=_every_minute, name="sqs-metrics", daemon=True).start()


def _published_first(read: Any) -> Any:
    def reading(self: Any, *args: Any, **kwargs: Any) -> Any:
        publish(scope=(self.account_id, self.region_name))
        return read(self, *args, **kwargs)

    reading.__name__ = read.__name__
    return reading
