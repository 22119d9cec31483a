"""A latency model of AWS, off by default: `--latency aws --scale S`.

moto answers every call at once and every resource is ready the moment it is created, so a
deployment against it measures nothing of what makes a real one slow. With the model on, every
request waits a base delay, and resources are not usable until the delay AWS documents (or that
is commonly observed, where AWS gives no figure) has passed since they were created:

| what | model | source |
| --- | --- | --- |
| any API call | 50 ms | assumption: one control-plane round trip from a client in the same continent; not measured here |
| Kinesis stream CREATING -> ACTIVE | 30 s | CreateStream is asynchronous and returns CREATING (Kinesis API reference, CreateStream); no figure is documented, tens of seconds is what is commonly observed |
| IAM role assumable by a service | 10 s | IAM user guide, "Changes that I make are not always immediately visible" (eventual consistency); no figure is documented, a few to ~10 s is commonly observed |
| Lambda function Pending -> Active | 5 s | Lambda developer guide, "Lambda function states" (Pending after create); no figure for functions outside a VPC, a few seconds commonly observed |
| Lambda update InProgress -> Successful | 3 s | same page, "Function states during updates" (LastUpdateStatus InProgress) |
| event source mapping Creating -> Enabled | 30 s | Lambda API reference, EventSourceMappingConfiguration.State (Creating, Enabling, Enabled, ...); no figure documented |
| distribution InProgress -> Deployed | 240 s | CloudFront API reference, Distribution.Status; AWS's own waiter polls every 60 s (boto3 DistributionDeployed); a few minutes commonly observed |
| invalidation InProgress -> Completed | 60 s | CloudFront API reference, Invalidation.Status ("When the invalidation batch is finished, the status is Completed"); the Developer Guide gives no figure today (it once said "usually 10 to 15 minutes"); AWS's own waiter polls every 20 s for up to 10 minutes (boto3 InvalidationCompleted: delay 20, 30 attempts); under a minute to a few minutes commonly observed |
| queue name reusable after DeleteQueue | 60 s | SQS API reference, DeleteQueue ("you must wait at least 60 seconds before creating a queue with the same name"), error QueueDeletedRecently |

`--scale` multiplies every figure (0.1 turns a 240 s deployment into 24 s), so a benchmark keeps
the model's proportions in a bearable time. While a resource is not ready the emulator answers as
AWS does: the status fields say so, Lambda refuses to create a function with a role that is not
yet assumable (InvalidParameterValueException) and refuses updates while one is in progress
(ResourceConflictException), CloudFront refuses a real-time log config whose role it cannot yet
assume (InvalidArgument), SQS refuses a recently deleted name (QueueDeletedRecently), and an
invalidation counts against CloudFront's in-progress limits until it completes
(TooManyInvalidationsInProgress, invalidation_limits.py).
"""

from __future__ import annotations

import threading
import time
from typing import Any

# Seconds, before scaling. Each figure's source is in the module's docstring.
FIGURES: dict[str, float] = {
    "call": 0.05,
    "kinesis_stream_active": 30.0,
    "iam_role_assumable": 10.0,
    "lambda_active": 5.0,
    "lambda_update": 3.0,
    "event_source_mapping_enabled": 30.0,
    "distribution_deployed": 240.0,
    "invalidation_completed": 60.0,
    "queue_name_reusable": 60.0,
}

_lock = threading.Lock()
_scale = 0.0
# When each role (by name) was created, and each queue (by name) deleted.
_roles_created: dict[str, float] = {}
_queues_deleted: dict[str, float] = {}


def configure(model: str, scale: float) -> None:
    """Turns the model on ('aws') or off ('none'); only the server's flags call this."""
    global _scale
    if model not in ("aws", "none"):
        raise ValueError(f"unknown latency model {model!r}; use aws or none")
    if scale < 0:
        raise ValueError("--scale must not be negative")
    _scale = scale if model == "aws" else 0.0
    if _scale:
        _apply_patches()


def enabled() -> bool:
    return _scale > 0


def delay(name: str) -> float:
    """The model's delay for `name` in seconds, scaled (0 when the model is off)."""
    return FIGURES[name] * _scale


def before_request() -> None:
    """The base delay every request pays."""
    if _scale:
        time.sleep(delay("call"))


def _not_yet(since: float | None, name: str) -> bool:
    return since is not None and time.monotonic() < since + delay(name)


def role_propagating(role_arn: str) -> bool:
    """Whether a role created moments ago cannot be assumed yet."""
    name = role_arn.rsplit("/", 1)[-1]
    with _lock:
        return _not_yet(_roles_created.get(name), "iam_role_assumable")


_patched = False


def _apply_patches() -> None:
    global _patched
    if _patched:
        return
    _patched = True
    _patch_kinesis()
    _patch_iam()
    _patch_lambda()
    _patch_cloudfront()
    _patch_sqs()


def _ready_property(attribute: str, since: str, pending: str, ready: str, figure: str) -> property:
    """A status attribute that reads `pending` until `figure` seconds after `since`, whatever
    moto stored, once moto stored `ready`."""

    def get(self: Any) -> Any:
        value = self.__dict__.get(attribute)
        if value == ready and _not_yet(self.__dict__.get(since), figure):
            return pending
        return value

    def set_(self: Any, value: Any) -> None:
        self.__dict__[attribute] = value

    return property(get, set_)


def _stamp_on_init(cls: Any, since: str) -> None:
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self.__dict__[since] = time.monotonic()
        original(self, *args, **kwargs)

    cls.__init__ = __init__


def _patch_kinesis() -> None:
    from moto.kinesis import models

    models.Stream.status = _ready_property("_cfrp_status", "_cfrp_created", "CREATING", "ACTIVE", "kinesis_stream_active")
    _stamp_on_init(models.Stream, "_cfrp_created")


def _patch_iam() -> None:
    from moto.iam import models

    create_role = models.IAMBackend.create_role

    def create_role_stamped(self: Any, role_name: str, *args: Any, **kwargs: Any) -> Any:
        role = create_role(self, role_name, *args, **kwargs)
        with _lock:
            _roles_created[role_name] = time.monotonic()
        return role

    models.IAMBackend.create_role = create_role_stamped


def _patch_lambda() -> None:
    from moto.awslambda import models
    from moto.awslambda.exceptions import LambdaClientError

    models.LambdaFunction.state = _ready_property("_cfrp_state", "_cfrp_created", "Pending", "Active", "lambda_active")
    _stamp_on_init(models.LambdaFunction, "_cfrp_created")

    def busy(fn: Any) -> bool:
        return fn.state == "Pending" or _not_yet(fn.__dict__.get("_cfrp_updated"), "lambda_update")

    get_configuration = models.LambdaFunction.get_configuration

    def get_configuration_in_progress(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = get_configuration(self, on_create)
        if not on_create and _not_yet(self.__dict__.get("_cfrp_updated"), "lambda_update"):
            config["LastUpdateStatus"] = "InProgress"
        return config

    models.LambdaFunction.get_configuration = get_configuration_in_progress

    for method in ("update_configuration", "update_function_code"):
        original = getattr(models.LambdaFunction, method)

        def updating(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if busy(self):
                raise LambdaClientError(
                    "ResourceConflictException",
                    f"The operation cannot be performed at this time. An update is in progress for resource: {self.function_arn}",
                )
            result = _original(self, *args, **kwargs)
            self.__dict__["_cfrp_updated"] = time.monotonic()
            return result

        setattr(models.LambdaFunction, method, updating)

    create_function = models.LambdaBackend.create_function

    def create_function_checked(self: Any, spec: dict[str, Any]) -> Any:
        if role_propagating(spec.get("Role") or ""):
            raise LambdaClientError(
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            )
        return create_function(self, spec)

    models.LambdaBackend.create_function = create_function_checked

    models.EventSourceMapping.get_configuration = _mapping_creating(models.EventSourceMapping.get_configuration)
    _stamp_on_init(models.EventSourceMapping, "_cfrp_created")


def _mapping_creating(get_configuration: Any) -> Any:
    def get(self: Any) -> dict[str, Any]:
        config = get_configuration(self)
        if config.get("State") == "Enabled" and _not_yet(self.__dict__.get("_cfrp_created"), "event_source_mapping_enabled"):
            config["State"] = "Creating"
        return config

    return get


def _patch_cloudfront() -> None:
    from datetime import datetime

    from moto.cloudfront import models
    from moto.moto_api import state_manager

    state_manager.set_transition("cloudfront::distribution", {"progression": "time", "seconds": delay("distribution_deployed")})
    update = models.CloudFrontBackend.update_distribution

    def update_restarting_clock(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = update(self, *args, **kwargs)
        # moto's time progression counts from the last transition; an update starts a new one.
        for dist in self.distributions.values():
            if dist.__dict__.get("_status") == "InProgress":
                dist._time_progressed = datetime.now()
        return result

    models.CloudFrontBackend.update_distribution = update_restarting_clock


def _patch_sqs() -> None:
    from moto.sqs import models
    from moto.sqs.exceptions import SQSException

    class QueueDeletedRecently(SQSException):
        def __init__(self) -> None:
            super().__init__(
                "AWS.SimpleQueueService.QueueDeletedRecently",
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
            )

    delete_queue = models.SQSBackend.delete_queue
    create_queue = models.SQSBackend.create_queue

    def delete_queue_stamped(self: Any, queue_name: str) -> None:
        delete_queue(self, queue_name)
        with _lock:
            _queues_deleted[queue_name] = time.monotonic()

    def create_queue_checked(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            deleted = _queues_deleted.get(name)
        if name not in self.queues and _not_yet(deleted, "queue_name_reusable"):
            raise QueueDeletedRecently()
        return create_queue(self, name, *args, **kwargs)

    models.SQSBackend.delete_queue = delete_queue_stamped
    models.SQSBackend.create_queue = create_queue_checked
