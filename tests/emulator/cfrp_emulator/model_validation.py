"""Every request checked against the AWS service model of the service it calls.

moto accepts nearly anything; AWS refuses a request that breaks its service model before acting
on it. The botocore models installed with moto carry what the services check: required members,
enum values, string length, number ranges, list and map sizes, patterns. This module identifies a
request's service and operation, parses its input into the operation's input shape per protocol,
checks it against the shape, and answers a request that breaks a constraint with the error the
service returns for it, in the service's protocol and wording, naming the member. It runs in
`ExtendedApp.__call__` before a request is routed (moto, the CloudFront extension, the CBOR bridge);
each refusal is one line on stderr (service, operation, member, constraint).

Identification: the service from the SigV4 credential scope (the Authorization header, or
X-Amz-Credential of a presigned URL; unsigned: the X-Amz-Target prefix or the CBOR path), the
operation from X-Amz-Target (json), the RPCv2 CBOR path (CloudWatch), Action= (query), or the
method, the `http.requestUri` template and its literal query keys (rest-json, rest-xml).

| service | parsed | refusal (HTTP 400) | source of code and wording |
| --- | --- | --- | --- |
| Kinesis | json 1.1 | ValidationException, Coral wording | answers of Kinesis: "(ValidationException) ... PutRecord ...: 1 validation error detected: Value '...' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" (localstack/localstack#4048) |
| CloudWatch Logs | json 1.1 | InvalidParameterException, Coral wording | API reference (InvalidParameterException); answers: "2 validation errors detected: Value '' at 'logGroupNamePrefix' ... pattern ...; ... length greater than or equal to 1" (fluent-plugin-cloudwatch-logs#223), "Value null at 'logEvents.1.member.timestamp'" |
| EventBridge | json 1.1 | ValidationException, Coral wording | answers: "... at 'name' ... less than or equal to 64 (Service: AmazonCloudWatchEvents; ... Error Code: ValidationException)" |
| Lambda | rest-json | ValidationException (x-amzn-ErrorType), Coral wording | answers: "Value '3000' at 'timeout' ... less than or equal to 900 (Service: AWSLambdaInternal; Status Code: 400; Error Code: ValidationException)"; not in the Lambda model's error shapes, as at AWS |
| WAFv2 | json 1.1 | ValidationException, Coral wording | answers: "ValidationException: 2 validation errors detected: Value '' at 'description' failed to satisfy constraint: Member must have length greater than or equal to 1; ... regular expression pattern: ^[\\w+=:#@/\\-,\\.][\\w+=:#@/\\-,\\.\\s]+[\\w+=:#@/\\-,\\.]$" |
| DynamoDB | json 1.0 | ValidationException, Coral wording | answers: "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3" (the DynamoDB API reference's common ValidationException, 400) |
| SSM | json 1.1 | ValidationException, Coral wording | the API reference's common errors (ValidationException, 400); answers: "1 validation error detected: Value '...' at 'name' failed to satisfy constraint: Member must have length less than or equal to 2048" |
| IAM | query | ValidationError, Coral wording | IAM Common Errors (ValidationError, 400); answers: "ValidationError ... at 'tags.6.member.value' ... regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*" |
| STS | query | ValidationError, Coral wording | STS Common Errors (ValidationError, 400); answers: "'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64" |
| CloudFront | rest-xml | MalformedXML, Coral wording | answers: "(MalformedXML) ... UpdateDistribution ...: 1 validation error detected: Value 'TLSv1.2_2019' at 'distributionConfig.viewerCertificate.minimumProtocolVersion' ... enum value set: [...]" (aws/aws-cli#6275), "MalformedXML 1 validation error detected: Value null at 'distributionConfig.enabled' ... Member must not be null" (fog/fog-aws#48) |
| CloudWatch | RPCv2 CBOR, json 1.0, query | MissingParameter for a missing member, else InvalidParameterValue, CloudWatch's wording, one line each | the model's error shapes (MissingRequiredParameterException = MissingParameter, InvalidParameterValueException = InvalidParameterValue, 400); answers: "The parameter MetricData.member.1.Dimensions.member.3.Value is required." (also for an empty `Value=`), "The parameter MetricData.member.20.Dimensions.member.4.Value must be shorter than 257 characters", "The parameter Statistics.member.1 must be a value in the set [ Sum, Maximum, Minimum, SampleCount, Average ]" |
| SNS | query | InvalidParameter, "Invalid parameter: X Reason: ..." | the model's InvalidParameterException (code InvalidParameter, 400); answers: "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter" |
| SQS | json 1.0, query-compatible (x-amzn-query-error) | MissingParameter "The request must contain the parameter X."; an attribute name outside the enum InvalidAttributeName "Unknown Attribute X."; else InvalidParameterValue | SQS Common Errors (MissingParameter, InvalidParameterValue), the model's InvalidAttributeName; answers: "MissingParameter: The request must contain the parameter MessageGroupId." |
| S3 | rest-xml | InvalidArgument with ArgumentName / ArgumentValue for a header, query or URI member; MalformedXML for the XML body; HEAD: the status only | S3 Error responses (InvalidArgument 400; MalformedXML 400 "The XML you provided was not well-formed or did not validate against our published schema") |

Wording that is this module's, not AWS's (no answer of the service to copy was found): CloudWatch's
"must be longer than N characters", "must be greater / less than or equal to N", "must match the
pattern P", "The collection X must not have a size less than N" (in the style of its answers
above); SNS's and SQS's reasons after the member, which reuse Coral's constraint sentences; S3's
member path in parentheses after the MalformedXML sentence (S3's own message names no member);
the messages for a value of the wrong type.

Coral wording (the services above that use it): "N validation error(s) detected: " and the errors
joined by "; ", each "Value 'v' at 'path' failed to satisfy constraint: Member must ...", values
as Java prints them, paths in lowerCamelCase with list items as `items.1.member.domainName`; for
one value the pattern before the length; a failing item of a list of scalars, or a map key or
value, is reported at the collection ("Member must satisfy constraint: [...]", "Map keys must
satisfy constraint: [...]", "Map value must satisfy constraint: [...]") listing every constraint
of the item shape, as the services do ("Value '{...}' at 'tags' failed to satisfy constraint: Map
value must satisfy constraint: [Member must have length less than or equal to 256, Member must
have length greater than or equal to 0, Member must satisfy regular expression pattern: ...]").

A value of the wrong type is refused as the protocol's deserialiser refuses it, before any
constraint: SerializationException (json, CBOR), InvalidRequestContentException (Lambda),
MalformedInput (CloudFront), MalformedXML (S3 body) / InvalidArgument (S3 header, query),
InvalidParameterValue (query services).

Patterns are Java regular expressions matched against the whole value (`Pattern.matches`):
`\\p{L}` and the other categories become explicit Unicode ranges, `\\w \\d \\s` stay ASCII as in
Java (re.ASCII), `.` excludes Java's line terminators, `[\\w-_]` keeps its literal '-'. A pattern
that still cannot compile is skipped (that one check) and counted; `GET /_cfrp/model-validation`
reports those, the refusals and the requests let through unparsed. (All 209 patterns of the
eleven models compile.)

One enum is matched regardless of case because the service itself does: S3's FilterRuleName
("prefix" / "suffix" in the model; S3 answers "Prefix" / "Suffix" and takes them back).

Whatever the model does not cover passes unchanged: unknown services or operations, requests that
cannot be parsed (logged once per operation at debug level), SQS over the query protocol (the
current SQS model carries only its JSON serialisation), streaming and aws-chunked bodies, routes
the model cannot tell apart. `CFRP_EMULATOR_MODEL_VALIDATION=0` turns the whole check off.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json
import logging
import os
import re
import sys
import threading
import unicodedata
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

import botocore.session

log = logging.getLogger(__name__)

SERVICES = ("cloudfront", "cloudwatch", "kinesis", "lambda", "iam", "sqs", "sns", "s3", "events", "logs", "sts", "ssm", "wafv2", "dynamodb")

CBOR_PATH = re.compile(r"^/service/(?P<service>[A-Za-z0-9_]+)/operation/(?P<op>[A-Za-z0-9]+)$")

# Where `check` leaves the `service:Operation` it identified, for the request log.
OPERATION_KEY = "cfrp.operation"

_lock = threading.Lock()
_stats: dict[str, Any] = {"refused": 0, "skipped_pattern_checks": {}, "unparsed": {}}
_untranslatable: set[str] = set()
_debug_logged: set[tuple[str, str]] = set()


def enabled() -> bool:
    return os.environ.get("CFRP_EMULATOR_MODEL_VALIDATION", "1").strip().lower() not in ("0", "false", "off", "no")


def stats() -> dict[str, Any]:
    """What the validator did: refusals, pattern checks skipped (pattern -> times), operations
    passed through unparsed (service.operation -> reason)."""
    with _lock:
        return {
            "enabled": enabled(),
            "refused": _stats["refused"],
            "untranslatable_patterns": sorted(_untranslatable),
            "skipped_pattern_checks": dict(_stats["skipped_pattern_checks"]),
            "unparsed": dict(_stats["unparsed"]),
        }


# ---------------------------------------------------------------- models


def warm() -> None:
    """Loads the models and routes in the background, so the first requests do not pay for them
    (the Unicode tables of \\p{..} are built when a pattern first needs them)."""

    def load() -> None:
        try:
            for service in SERVICES:
                service_model(service)
            _signing_names()
            _target_prefixes()
            for service in ("cloudfront", "lambda", "s3"):
                _routes(service)
        except Exception as err:  # a failed warm-up only costs time later
            log.debug("model-validation: warm-up failed: %s", err)

    if enabled():
        threading.Thread(target=load, name="model-validation-warm", daemon=True).start()


_session_lock = threading.Lock()
_session = None


@lru_cache(maxsize=None)
def service_model(name: str):
    global _session
    with _session_lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session.get_service_model(name)


@lru_cache(maxsize=None)
def _signing_names() -> dict[str, str]:
    names = {}
    for service in SERVICES:
        meta = service_model(service).metadata
        names[meta.get("signingName") or meta["endpointPrefix"]] = service
    return names


@lru_cache(maxsize=None)
def _target_prefixes() -> dict[str, str]:
    prefixes = {}
    for service in SERVICES:
        prefix = service_model(service).metadata.get("targetPrefix")
        if prefix:
            prefixes[prefix] = service
    return prefixes


# ---------------------------------------------------------------- entry point


class _Unparsed(Exception):
    """The request cannot be read as the model's input: let it through."""


def check(environ: dict[str, Any]) -> tuple[int, list, bytes] | None:
    """The error AWS would answer this request with, or None to let it through. Reads the body
    when the operation's input lives there and puts it back for whoever answers."""
    if not enabled():
        return None
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/_cfrp/") or path.startswith("/moto-api"):
        return None
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    request = _Request(environ, method, path, query)
    service = _service(environ, path, query) or _unsigned_query_service(request)
    if service is None:
        return None
    try:
        found = _operation(service, request)
        if found is None:
            return None
        protocol, op, labels = found
        # The request log (`GET /_cfrp/requests`) names each request by what was found here.
        environ[OPERATION_KEY] = f"{service}:{op.name}"
        params = _parse(service, protocol, op, request, labels)
    except _Unparsed as why:
        _pass_unparsed(service, getattr(why, "operation", "?"), str(why))
        return None
    except Exception as err:  # never break a request the validator cannot follow
        _pass_unparsed(service, "?", f"{type(err).__name__}: {err}")
        return None
    violations: list[Violation] = []
    if op.input_shape is not None:
        _validate(params, op.input_shape, (), violations, protocol)
    if not violations:
        return None
    answer, summary = _refusal(service, protocol, op, violations, method)
    with _lock:
        _stats["refused"] += 1
    print(f"cfrp-emulator model-validation: refused {service} {op.name}: {summary}", file=sys.stderr, flush=True)
    return answer


def _pass_unparsed(service: str, operation: str, why: str) -> None:
    key = (service, operation)
    with _lock:
        _stats["unparsed"][f"{service}.{operation}"] = why
        first = key not in _debug_logged
        _debug_logged.add(key)
    if first:
        log.debug("model-validation: %s %s passed unchecked: %s", service, operation, why)


class _Request:
    """The parts of a WSGI request the parsers read; the body is read once, on demand, and put
    back into the environ."""

    def __init__(self, environ: dict[str, Any], method: str, path: str, query: dict[str, list[str]]) -> None:
        self.environ = environ
        self.method = method
        self.path = path
        self.query = query
        self._body: bytes | None = None
        self.headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            self.headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            self.headers["content-length"] = environ["CONTENT_LENGTH"]

    @property
    def raw_path(self) -> str:
        raw = self.environ.get("RAW_URI") or self.environ.get("REQUEST_URI")
        if raw:
            raw = raw.split("?", 1)[0]
            if raw.startswith("http://") or raw.startswith("https://"):
                raw = "/" + raw.split("/", 3)[-1] if raw.count("/") >= 3 else "/"
            return raw
        return urllib.parse.quote(self.path.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~")

    def body(self) -> bytes:
        if self._body is None:
            environ = self.environ
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            stream = environ.get("wsgi.input")
            if stream is None:
                data = b""
            elif length:
                data = stream.read(length)
            elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
                data = stream.read()
            else:
                data = b""
            environ["wsgi.input"] = io.BytesIO(data)
            if data or length:
                environ["CONTENT_LENGTH"] = str(len(data))
            self._body = data
        return self._body

    def decoded_body(self) -> bytes:
        body = self.body()
        encoding = self.headers.get("content-encoding", "").lower()
        if "aws-chunked" in encoding:
            raise _Unparsed("aws-chunked body")
        if "gzip" in encoding:
            return gzip.decompress(body)
        return body


def _service(environ: dict[str, Any], path: str, query: dict[str, list[str]]) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = re.search(r"Credential=[^/,\s]+/\d{8}/(?:[^/,\s]+/)?([^/,\s]+)/aws4_request", auth)
    if scope is None and "X-Amz-Credential" in query:
        scope = re.search(r"^[^/]+/\d{8}/(?:[^/]+/)?([^/]+)/aws4_request$", query["X-Amz-Credential"][0])
    if scope is not None:
        return _signing_names().get(scope.group(1))
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return _target_prefixes().get(target.rsplit(".", 1)[0])
    found = CBOR_PATH.match(path)
    if found:
        return _target_prefixes().get(found.group("service"))
    return None


@lru_cache(maxsize=None)
def _query_versions() -> dict[str, str]:
    """apiVersion -> service, for the services that speak the query protocol (and SQS)."""
    versions = {}
    for service in SERVICES:
        model = service_model(service)
        if "query" in (model.metadata.get("protocols") or [model.protocol]) or service == "sqs":
            versions[model.metadata["apiVersion"]] = service
    return versions


def _unsigned_query_service(request: "_Request") -> str | None:
    """An unsigned query request (STS AssumeRoleWithWebIdentity, AssumeRoleWithSAML) names its
    API by `Version=`."""
    params = request.query
    if "Version" not in params and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params = urllib.parse.parse_qs(request.body().decode("utf-8", "replace"), keep_blank_values=True)
    version = params.get("Version", [None])[0]
    return _query_versions().get(version) if version and "Action" in params else None


# ---------------------------------------------------------------- operations


def _operation(service: str, request: _Request):
    """(protocol, operation model, URI labels) of the request, or None when the model does not
    name it."""
    model = service_model(service)
    protocols = model.metadata.get("protocols") or [model.protocol]
    found = CBOR_PATH.match(request.path)
    if found and "smithy-rpc-v2-cbor" in protocols and request.method == "POST":
        return "cbor", _named(service, model, found.group("op")), {}
    target = request.headers.get("x-amz-target")
    if target and "json" in protocols:
        prefix, _, name = target.rpartition(".")
        if prefix != model.metadata.get("targetPrefix"):
            return None
        return "json", _named(service, model, name), {}
    if "query" in protocols or service == "sqs":
        action = request.query.get("Action", [None])[0]
        if action is None and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(request.body().decode("utf-8", "replace"), keep_blank_values=True)
            action = form.get("Action", [None])[0]
        if action is None:
            return None
        if "query" not in protocols:
            # SQS over the query protocol: the model carries only the JSON serialisation.
            _pass_unparsed(service, action, "query protocol, which the model does not describe")
            return None
        return "query", _named(service, model, action), {}
    if model.protocol in ("rest-json", "rest-xml"):
        matched = _match_rest(service, request)
        if matched is None:
            # Keyed by method, not path, so the report stays bounded; the last path is kept.
            _pass_unparsed(service, f"{request.method} (no route)", f"no operation's requestUri matches {request.path} (or several do)")
            return None
        op, labels = matched
        return model.protocol, op, labels
    return None


def _named(service: str, model: Any, name: str):
    try:
        return model.operation_model(name)
    except Exception:
        error = _Unparsed(f"the model has no operation {name}")
        error.operation = name
        raise error from None


@lru_cache(maxsize=None)
def _routes(service: str) -> list[tuple[str, re.Pattern[str], dict[str, str | None], int, Any]]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        uri = op.http.get("requestUri", "/")
        path, _, literal_query = uri.partition("?")
        parts, pos, greedy_end = [], 0, False
        for label in re.finditer(r"\{(\w+)(\+?)\}", path):
            parts.append(re.escape(path[pos : label.start()]))
            parts.append(f"(?P<{label.group(1)}>.+)" if label.group(2) else f"(?P<{label.group(1)}>[^/]+)")
            pos = label.end()
            greedy_end = bool(label.group(2)) and pos == len(path)
        parts.append(re.escape(path[pos:]))
        pattern = "".join(parts)
        if not greedy_end and not path.endswith("/"):
            pattern += "/?"
        required: dict[str, str | None] = {}
        for part in filter(None, literal_query.split("&")):
            key, eq, value = part.partition("=")
            required[key] = value if eq else None
        literal = len(re.sub(r"\{\w+\+?\}", "", path))
        routes.append((op.http["method"], re.compile(f"^{pattern}$"), required, literal, op))
    return routes


def _match_rest(service: str, request: _Request):
    """The operation whose method, `requestUri` path and literal query keys fit the request.
    botocore's S3 model drops the discriminators of some routes (`?uploadId`, `x-id`), so
    several operations can fit: an `x-id` naming one of them decides, else the one whose required
    header and query members are all present (and most numerous), then the not deprecated one,
    then the one not served by the S3 Express control endpoint. Still tied: not parsed."""
    raw_path = request.raw_path
    if service == "s3":
        raw_path = _s3_path(request, raw_path)
    query = request.query
    x_id = query.get("x-id", [None])[0]
    scored = []
    for method, regex, required, literal, op in _routes(service):
        if method != request.method:
            continue
        found = regex.match(raw_path)
        if not found:
            continue
        if any(key not in query or (value is not None and query[key][0] != value) for key, value in required.items() if key != "x-id"):
            continue
        labels = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
        scored.append(((len([k for k in required if k != "x-id"]), literal), op, labels))
    if not scored:
        return None
    named = [(op, labels) for _, op, labels in scored if op.name == x_id]
    if named:
        return named[0]
    best = max(score for score, _, _ in scored)
    tied = [(op, labels) for score, op, labels in scored if score == best]
    if len(tied) > 1:
        present = [(op, labels) for op, labels in tied if _located_required(op, request)[0]] or tied

        def rank(entry):
            op = entry[0]
            express = any(p.name == "UseS3ExpressControlEndpoint" and p.value for p in op.static_context_parameters)
            return (_located_required(op, request)[1], not op.deprecated, not express)

        top = max(rank(entry) for entry in present)
        tied = [entry for entry in present if rank(entry) == top]
        if len({op.name for op, _ in tied}) > 1:
            return None
    return tied[0]


def _located_required(op: Any, request: _Request) -> tuple[bool, int]:
    """Whether every required header and query member of the operation is in the request, and
    how many there are."""
    shape = op.input_shape
    if shape is None:
        return True, 0
    count, present = 0, True
    for name in shape.required_members:
        member = shape.members[name]
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "header":
            count += 1
            present = present and wire.lower() in request.headers
        elif location == "querystring":
            count += 1
            present = present and wire in request.query
    return present, count


def _s3_path(request: _Request, raw_path: str) -> str:
    """Virtual-hosted-style requests carry the bucket in the host: make them path-style."""
    host = request.headers.get("host", "").split(":", 1)[0].lower()
    found = re.match(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$", host)
    if found is None:
        found = re.match(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*)\.localhost$", host)
    if found is None:
        return raw_path
    return "/" + found.group("bucket") + (raw_path if raw_path != "/" else "")


# ---------------------------------------------------------------- parsing


class _Bad:
    """A wire value that is not of the member's type."""

    __slots__ = ("raw", "expected")

    def __init__(self, raw: Any, expected: str) -> None:
        self.raw = raw
        self.expected = expected


_SCALARS = ("string", "integer", "long", "float", "double", "boolean", "timestamp", "blob")


def _parse(service: str, protocol: str, op: Any, request: _Request, labels: dict[str, str]) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    try:
        if protocol in ("json", "cbor"):
            body = request.decoded_body()
            if protocol == "json":
                document = json.loads(body) if body.strip() else {}
            else:
                import cbor2

                document = cbor2.loads(body) if body else {}
            if not isinstance(document, dict):
                raise _Unparsed("the body is not an object")
            return _from_document(document, shape)
        if protocol == "query":
            params = {k: v[-1] for k, v in request.query.items()}
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                form = urllib.parse.parse_qs(request.body().decode("utf-8"), keep_blank_values=True)
                params.update({k: v[-1] for k, v in form.items()})
            return _from_query(params, shape, "", service == "cloudwatch")
        return _from_rest(protocol, shape, request, labels)
    except _Unparsed as err:
        err.operation = op.name
        raise
    except (ValueError, ET.ParseError, UnicodeDecodeError, OSError, EOFError) as err:
        error = _Unparsed(f"cannot parse the request: {err}")
        error.operation = op.name
        raise error from None
    except Exception as err:
        if type(err).__module__.startswith("cbor2"):
            error = _Unparsed(f"cannot parse the CBOR body: {err}")
            error.operation = op.name
            raise error from None
        raise


def _wire_name(name: str, member: Any) -> str:
    return member.serialization.get("name", name)


def _from_document(value: Any, shape: Any) -> Any:
    """A JSON or CBOR document with member names for wire names (they are the same almost
    everywhere); values keep their wire types for the type check."""
    if value is None or shape.metadata.get("document"):
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out = {}
        by_wire = {_wire_name(n, m): n for n, m in shape.members.items()}
        for key, item in value.items():
            name = by_wire.get(key)
            if name is not None:
                out[name] = _from_document(item, shape.members[name])
        return out
    if kind == "list" and isinstance(value, list):
        return [_from_document(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _from_document(v, shape.value) for k, v in value.items()}
    return value


def _scalar(text: str, shape: Any) -> Any:
    """A query string, header, URI or XML text value in the member's type."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text.strip())
        except ValueError:
            return _Bad(text, kind)
    if kind in ("float", "double"):
        try:
            return float(text.strip())
        except ValueError:
            return _Bad(text, kind)
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return _Bad(text, kind)
    if kind == "blob":
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            return _Bad(text, kind)
    return text


def _from_query(params: dict[str, str], shape: Any, prefix: str, empty_is_absent: bool) -> Any:
    """The query protocol's flattened parameters (`Tags.member.1.Key=...`) as the shape's value;
    None when no parameter carries the member."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = f"{prefix}.{_wire_name(name, member)}" if prefix else _wire_name(name, member)
            value = _from_query(params, member, key, empty_is_absent)
            if value is not None:
                out[name] = value
        if prefix and not out and prefix not in params:
            return None
        return out
    if kind == "list":
        if params.get(prefix) == "" and not any(k.startswith(prefix + ".") for k in params):
            return []
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = []
        for index in _indices(params, base):
            items.append(_from_query(params, shape.member, f"{base}.{index}", empty_is_absent))
        return items if items else None
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        found = False
        for index in _indices(params, base):
            found = True
            key = params.get(f"{base}.{index}.{key_name}")
            if key is None:
                continue
            out[key] = _from_query(params, shape.value, f"{base}.{index}.{value_name}", empty_is_absent)
        return out if found else None
    if prefix not in params:
        return None
    text = params[prefix]
    if text == "" and empty_is_absent:
        return None
    return _scalar(text, shape)


def _indices(params: dict[str, str], base: str) -> list[int]:
    found = set()
    start = base + "."
    for key in params:
        if key.startswith(start):
            head = key[len(start) :].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def _from_rest(protocol: str, shape: Any, request: _Request, labels: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    body_members = []
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = _wire_name(name, member)
        if location == "uri":
            if wire in labels:
                out[name] = _scalar(labels[wire], member)
        elif location == "querystring":
            if member.type_name == "map":
                continue
            if wire in request.query:
                values = request.query[wire]
                out[name] = [_scalar(v, member.member) for v in values] if member.type_name == "list" else _scalar(values[0], member)
        elif location == "header":
            header = request.headers.get(wire.lower())
            if header is not None:
                if member.type_name == "list":
                    out[name] = [_scalar(v.strip(), member.member) for v in header.split(",")]
                elif member.type_name == "string" and member.serialization.get("jsonvalue"):
                    out[name] = header
                else:
                    out[name] = _scalar(header, member)
        elif location == "headers":
            prefix = wire.lower()
            found = {k[len(prefix) :]: v for k, v in request.headers.items() if k.startswith(prefix)}
            if found:
                out[name] = found
        elif location:
            continue
        else:
            body_members.append(name)
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        if member.type_name in ("blob", "string") or member.serialization.get("eventstream") or member.metadata.get("streaming"):
            # Raw bytes: nothing the model constrains is read from them, but a body that is
            # there is the member (PutBucketPolicy's required Policy is its whole body).
            if member.type_name == "string" and not member.metadata.get("streaming") and request.decoded_body().strip():
                out[payload] = request.decoded_body().decode("utf-8", "replace")
            return out
        body = request.decoded_body()
        if body.strip():
            out[payload] = _from_body(protocol, body, member)
        return out
    if body_members and request.method not in ("GET", "HEAD", "DELETE"):
        body = request.decoded_body()
        if body.strip():
            parsed = _from_body(protocol, body, shape)
            for name in body_members:
                if name in parsed:
                    out[name] = parsed[name]
    return out


def _from_body(protocol: str, body: bytes, shape: Any) -> Any:
    if protocol == "rest-json":
        document = json.loads(body)
        return _from_document(document, shape)
    root = ET.fromstring(body)
    return _from_xml(root, shape)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _from_xml(elem: ET.Element, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out = {}
        children = list(elem)
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            wire = _wire_name(name, member)
            if member.serialization.get("xmlAttribute"):
                local = wire.split(":", 1)[-1]
                for key, value in elem.attrib.items():
                    if _local(key) == local:
                        out[name] = _scalar(value, member)
                continue
            if member.type_name in ("list", "map") and member.serialization.get("flattened"):
                found = [c for c in children if _local(c.tag) == wire]
                if found:
                    if member.type_name == "list":
                        out[name] = [_from_xml(c, member.member) for c in found]
                    else:
                        out[name] = _xml_map(found, member)
                continue
            child = next((c for c in children if _local(c.tag) == wire), None)
            if child is not None:
                out[name] = _from_xml(child, member)
        return out
    if kind == "list":
        return [_from_xml(c, shape.member) for c in list(elem)]
    if kind == "map":
        return _xml_map([c for c in elem if _local(c.tag) == "entry"], shape)
    return _scalar(elem.text or "", shape)


def _xml_map(entries: list[ET.Element], shape: Any) -> dict[str, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out = {}
    for entry in entries:
        key = next((c for c in entry if _local(c.tag) == key_name), None)
        value = next((c for c in entry if _local(c.tag) == value_name), None)
        if key is not None:
            out[key.text or ""] = _from_xml(value, shape.value) if value is not None else None
    return out


# ---------------------------------------------------------------- validation


class Violation:
    """One broken constraint. `path` is a tuple of segments: ("m", member name, wire name,
    location) for a structure member, ("i", index) for a list item, ("k"|"v", key, index) for a
    map key or value. `collection` is set for an item of a list of scalars or a map key/value:
    (path of the collection, "member"|"key"|"value", item shape, collection value)."""

    __slots__ = ("path", "value", "kind", "limit", "shape", "collection")

    def __init__(self, path: tuple, value: Any, kind: str, limit: Any, shape: Any) -> None:
        self.path = path
        self.value = value
        self.kind = kind
        self.limit = limit
        self.shape = shape
        self.collection = None


def _type_ok(value: Any, kind: str, protocol: str) -> bool:
    if kind == "structure":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind == "map":
        return isinstance(value, dict)
    if kind == "string":
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double"):
        if isinstance(value, str):
            return value in ("NaN", "Infinity", "-Infinity")
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "timestamp":
        return isinstance(value, (int, float, str, dt.datetime)) and not isinstance(value, bool)
    if kind == "blob":
        return isinstance(value, (str, bytes, bytearray))
    return True


def _validate(value: Any, shape: Any, path: tuple, out: list[Violation], protocol: str) -> None:
    if value is None or shape.metadata.get("document"):
        return
    if isinstance(value, _Bad):
        out.append(Violation(path, value.raw, "type", value.expected, shape))
        return
    kind = shape.type_name
    if not _type_ok(value, kind, protocol):
        out.append(Violation(path, value, "type", kind, shape))
        return
    meta = shape.metadata
    if kind == "structure":
        for name in shape.required_members:
            member = shape.members[name]
            if value.get(name) is None:
                out.append(Violation(path + (_segment(name, member),), None, "required", None, member))
        for name, member in shape.members.items():
            if name in value:
                _validate(value[name], member, path + (_segment(name, member),), out, protocol)
        return
    if kind == "list":
        _size(value, meta, path, out, shape)
        scalar = shape.member.type_name in _SCALARS
        for index, item in enumerate(value):
            found: list[Violation] = []
            _validate(item, shape.member, path + (("i", index),), found, protocol)
            if scalar:
                for violation in found:
                    if violation.kind != "type":
                        violation.collection = (path, "member", shape.member, value)
            out.extend(found)
        return
    if kind == "map":
        _size(value, meta, path, out, shape)
        for index, (key, item) in enumerate(value.items()):
            found = []
            _validate(key, shape.key, path + (("k", key, index),), found, protocol)
            for violation in found:
                if violation.kind != "type":
                    violation.collection = (path, "key", shape.key, value)
            out.extend(found)
            found = []
            _validate(item, shape.value, path + (("v", key, index),), found, protocol)
            if shape.value.type_name in _SCALARS:
                for violation in found:
                    if violation.kind != "type":
                        violation.collection = (path, "value", shape.value, value)
            out.extend(found)
        return
    if kind == "string":
        # Coral's order for one value: the pattern, then the length ("2 validation errors
        # detected: Value '' at 'logGroupNamePrefix' ... regular expression pattern: ...; Value ''
        # at 'logGroupNamePrefix' ... length greater than or equal to 1").
        if "pattern" in meta:
            matched = _pattern_matches(meta["pattern"], value)
            if matched is False:
                out.append(Violation(path, value, "pattern", meta["pattern"], shape))
        length = len(value)
        if "max" in meta and length > meta["max"]:
            out.append(Violation(path, value, "max_length", meta["max"], shape))
        if "min" in meta and length < meta["min"]:
            out.append(Violation(path, value, "min_length", meta["min"], shape))
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            if not (shape.name in _CASE_INSENSITIVE_ENUMS and value.lower() in {e.lower() for e in enum}):
                out.append(Violation(path, value, "enum", list(enum), shape))
        return
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, str):
            return  # NaN / Infinity: no range applies
        if "max" in meta and value > meta["max"]:
            out.append(Violation(path, value, "max_value", meta["max"], shape))
        if "min" in meta and value < meta["min"]:
            out.append(Violation(path, value, "min_value", meta["min"], shape))
        return
    if kind == "blob" and ("min" in meta or "max" in meta):
        length = _blob_length(value)
        if length is None:
            return
        if "max" in meta and length > meta["max"]:
            out.append(Violation(path, value, "max_length", meta["max"], shape))
        if "min" in meta and length < meta["min"]:
            out.append(Violation(path, value, "min_length", meta["min"], shape))


# Enums the service itself matches regardless of case, so the model's spelling is not the only
# one it takes: S3 answers GetBucketNotificationConfiguration with filter rule names "Prefix" /
# "Suffix" (the model says "prefix" / "suffix") and takes its own answer back.
_CASE_INSENSITIVE_ENUMS = {"FilterRuleName"}


def _segment(name: str, member: Any) -> tuple:
    return ("m", name, _wire_name(name, member), member.serialization.get("location"))


def _size(value: Any, meta: dict, path: tuple, out: list[Violation], shape: Any) -> None:
    if "max" in meta and len(value) > meta["max"]:
        out.append(Violation(path, value, "max_size", meta["max"], shape))
    if "min" in meta and len(value) < meta["min"]:
        out.append(Violation(path, value, "min_size", meta["min"], shape))


def _blob_length(value: Any) -> int | None:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    text = value.strip()
    if not text:
        return 0
    try:
        return len(base64.b64decode(text))
    except ValueError:
        return None


# ---------------------------------------------------------------- Java patterns


_LINE_TERMINATORS = "[^\\n\\r\\u0085\\u2028\\u2029]"
_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
}


class _Untranslatable(Exception):
    pass


# Where Unicode assigns characters outside the private-use planes: the BMP, planes 1-3 and the
# tags / variation selectors of plane 14.
_ASSIGNED_SPANS = ((0, 0x3FFFF), (0xE0000, 0xE0FFF))


@lru_cache(maxsize=None)
def _category(name: str) -> str:
    """The Unicode general category `name` (Lu, or L for all letters) as class ranges."""
    spans: list[list[int]] = []
    for low, high in _ASSIGNED_SPANS:
        for code in range(low, high + 1):
            if unicodedata.category(chr(code)).startswith(name):
                if spans and spans[-1][1] == code - 1:
                    spans[-1][1] = code
                else:
                    spans.append([code, code])
    if not spans:
        raise _Untranslatable(f"\\p{{{name}}}")

    def escape(code: int) -> str:
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"

    return "".join(escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in spans)


def _property(name: str) -> str:
    if name.startswith("Is") and len(name) in (3, 4):
        name = name[2:]
    if name in _POSIX:
        return _POSIX[name]
    if len(name) in (1, 2) and name[0] in "LMNPSZC" and name.isalpha():
        return _category(name)
    raise _Untranslatable(f"\\p{{{name}}}")


def _surrogate_pair(pattern: str, i: int) -> int | None:
    """The code point of `\\uHHHH\\uLLLL` at `i` when it is a UTF-16 surrogate pair."""
    text = pattern[i : i + 12]
    if len(text) < 12 or text[:2] != "\\u" or text[6:8] != "\\u":
        return None
    try:
        high, low = int(text[2:6], 16), int(text[8:12], 16)
    except ValueError:
        return None
    if 0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
        return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return None


def translate(pattern: str) -> str:
    """A Java regular expression as Python `re` syntax (to be compiled with re.ASCII, which gives
    \\w \\d \\s Java's ASCII meaning). Raises _Untranslatable for constructs Python lacks."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = False  # just after '[' or '[^': a ']' here is literal
    after_class_escape = False  # just after \\w, \\d, \\s ... inside a class: a '-' is literal
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt in "pP":
                if pattern[i + 2 : i + 3] == "{":
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise _Untranslatable("unterminated \\p{")
                    name, i = pattern[i + 3 : end], end + 1
                elif i + 2 < n:
                    name, i = pattern[i + 2], i + 3
                else:
                    raise _Untranslatable("dangling \\p")
                ranges = _property(name)
                if in_class:
                    if nxt == "P":
                        raise _Untranslatable("\\P inside a class")
                    out.append(ranges)
                    after_class_escape = True
                else:
                    out.append(("[^" if nxt == "P" else "[") + ranges + "]")
                class_start = False
                continue
            if nxt == "x" and pattern[i + 2 : i + 3] == "{":
                raise _Untranslatable("\\x{...}")
            if nxt in "QEGRXhHvVkKZc":
                # quoting, \\G, linebreak, grapheme, horizontal / vertical whitespace classes,
                # named back-references, end-before-terminator, control characters
                raise _Untranslatable(f"\\{nxt}")
            pair = _surrogate_pair(pattern, i)
            if pair is not None:
                # Java patterns are UTF-16: a high and a low surrogate escape in a row are one
                # supplementary code point (as in `[\\uD800\\uDC00-\\uDBFF\\uDFFF]`).
                out.append(f"\\U{pair:08X}")
                after_class_escape = False
                class_start = False
                i += 12
                continue
            if nxt == "z":
                out.append("\\Z")
            elif nxt == "e":
                out.append("\\x1B")
            else:
                out.append(pattern[i : i + 2])
            after_class_escape = in_class and nxt in "wWdDsS"
            class_start = False
            i += 2
            continue
        if in_class:
            if c == "]" and not class_start:
                in_class = False
                out.append(c)
            elif c == "[":
                raise _Untranslatable("nested character class")
            elif c == "&" and pattern[i + 1 : i + 2] == "&":
                raise _Untranslatable("class intersection")
            elif c == "-" and after_class_escape:
                out.append("\\-")
            else:
                out.append(c)
            class_start = False
            after_class_escape = False
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start = True
            if pattern[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
            else:
                out.append("[")
                i += 1
            continue
        out.append(_LINE_TERMINATORS if c == "." else c)
        i += 1
    if in_class:
        raise _Untranslatable("unterminated character class")
    return "".join(out)


_compiled: dict[str, re.Pattern[str] | None] = {}


def compiled(pattern: str) -> re.Pattern[str] | None:
    """The pattern compiled for Python, or None when it cannot be (the check is skipped)."""
    if pattern in _compiled:
        return _compiled[pattern]
    try:
        regex: re.Pattern[str] | None = re.compile(translate(pattern), re.ASCII)
    except (_Untranslatable, re.error, ValueError) as err:
        regex = None
        with _lock:
            _untranslatable.add(pattern)
        log.debug("model-validation: pattern %r cannot be compiled (%s); its checks are skipped", pattern, err)
    _compiled[pattern] = regex
    return regex


def _pattern_matches(pattern: str, value: str) -> bool | None:
    regex = compiled(pattern)
    if regex is None:
        with _lock:
            skipped = _stats["skipped_pattern_checks"]
            skipped[pattern] = skipped.get(pattern, 0) + 1
        return None
    return regex.fullmatch(value) is not None


# ---------------------------------------------------------------- rendering: Coral


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _coral_path(path: tuple) -> str:
    parts = []
    for segment in path:
        if segment[0] == "m":
            parts.append(_lower_camel(segment[1]))
        elif segment[0] == "i":
            parts.append(f"{segment[1] + 1}.member")
        else:
            parts.append(str(segment[1]))
    return ".".join(parts)


def _java_number(value: Any) -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {True: "NaN"}.get(value != value, "Infinity" if value > 0 else "-Infinity")
        if value == 0 or 1e-3 <= abs(value) < 1e7:
            return repr(value)
        mantissa, exponent = f"{value:.16E}".split("E")
        mantissa = mantissa.rstrip("0")
        if mantissa.endswith("."):
            mantissa += "0"
        return f"{mantissa}E{int(exponent)}"
    return str(value)


def _java_string(value: Any) -> str:
    """A value as Java's toString shows it in Coral's messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _java_number(value)
    if isinstance(value, (bytes, bytearray)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return stamp.astimezone(dt.timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")
    if isinstance(value, list):
        return "[" + ", ".join(_java_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_java_string(k)}={_java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, _Bad):
        return str(value.raw)
    return str(value)


def _coral_constraint(kind: str, limit: Any) -> str:
    if kind in ("max_length", "max_size"):
        return f"Member must have length less than or equal to {_java_number(limit)}"
    if kind in ("min_length", "min_size"):
        return f"Member must have length greater than or equal to {_java_number(limit)}"
    if kind == "max_value":
        return f"Member must have value less than or equal to {_java_number(limit)}"
    if kind == "min_value":
        return f"Member must have value greater than or equal to {_java_number(limit)}"
    if kind == "pattern":
        return f"Member must satisfy regular expression pattern: {limit}"
    if kind == "enum":
        return f"Member must satisfy enum value set: [{', '.join(limit)}]"
    if kind == "required":
        return "Member must not be null"
    return f"Member must be of type {limit}"


def _shape_constraints(shape: Any) -> list[str]:
    """Every constraint of a shape, in Coral's order (max, min, pattern, enum)."""
    meta = shape.metadata
    numeric = shape.type_name in ("integer", "long", "float", "double")
    found = []
    if "max" in meta:
        found.append(_coral_constraint("max_value" if numeric else "max_length", meta["max"]))
    if "min" in meta:
        found.append(_coral_constraint("min_value" if numeric else "min_length", meta["min"]))
    if "pattern" in meta:
        found.append(_coral_constraint("pattern", meta["pattern"]))
    enum = getattr(shape, "enum", None)
    if enum:
        found.append(_coral_constraint("enum", list(enum)))
    return found


_COLLECTION_WORDS = {"member": "Member must satisfy constraint", "key": "Map keys must satisfy constraint", "value": "Map value must satisfy constraint"}


def _coral_errors(violations: list[Violation]) -> list[str]:
    errors, seen = [], set()
    for violation in violations:
        if violation.collection is not None:
            path, role, item_shape, collection = violation.collection
            key = (path, role)
            if key in seen:
                continue
            seen.add(key)
            constraints = ", ".join(_shape_constraints(item_shape))
            errors.append(f"Value '{_java_string(collection)}' at '{_coral_path(path)}' failed to satisfy constraint: {_COLLECTION_WORDS[role]}: [{constraints}]")
            continue
        where = _coral_path(violation.path)
        if violation.kind == "required":
            errors.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
        else:
            errors.append(f"Value '{_java_string(violation.value)}' at '{where}' failed to satisfy constraint: {_coral_constraint(violation.kind, violation.limit)}")
    return errors


def _coral_message(violations: list[Violation]) -> str:
    errors = _coral_errors(violations)
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: " + "; ".join(errors)


# ---------------------------------------------------------------- rendering: query-style paths


def _wire_path(path: tuple, list_word: str = "member") -> str:
    parts: list[str] = []
    for segment in path:
        if segment[0] == "m":
            parts.append(segment[2])
        elif segment[0] == "i":
            parts.append(f"{list_word}.{segment[1] + 1}" if list_word else str(segment[1] + 1))
        elif segment[0] == "k":
            parts.append(f"entry.{segment[2] + 1}.key")
        else:
            parts.append(f"entry.{segment[2] + 1}.value")
    return ".".join(parts)


def _type_word(kind: str) -> str:
    return {"integer": "integer", "long": "long", "float": "float", "double": "double", "boolean": "boolean", "blob": "base64 blob", "timestamp": "timestamp", "string": "string", "list": "list", "map": "map", "structure": "structure"}.get(kind, kind)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _cloudwatch_text(violation: Violation) -> str:
    where = _wire_path(violation.path)
    kind, limit = violation.kind, violation.limit
    if kind == "required":
        return f"The parameter {where} is required."
    if kind == "max_length":
        return f"The parameter {where} must be shorter than {limit + 1} characters."
    if kind == "min_length":
        return f"The parameter {where} must be longer than {limit - 1} characters."
    if kind == "max_size":
        return f"The collection {where} must not have a size greater than {limit}."
    if kind == "min_size":
        return f"The collection {where} must not have a size less than {limit}."
    if kind == "max_value":
        return f"The parameter {where} must be less than or equal to {_java_number(limit)}."
    if kind == "min_value":
        return f"The parameter {where} must be greater than or equal to {_java_number(limit)}."
    if kind == "enum":
        return f"The parameter {where} must be a value in the set [ {', '.join(limit)} ]."
    if kind == "pattern":
        return f"The parameter {where} must match the pattern {limit}."
    return f"The value {_java_string(violation.value)} for parameter {where} is not a valid {_type_word(limit)}."


# ---------------------------------------------------------------- refusals


def _request_id() -> str:
    return str(uuid.uuid4())


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _query_error(model: Any, code: str, message: str) -> tuple[int, list, bytes]:
    namespace = model.metadata.get("xmlNamespace", "")
    request_id = _request_id()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{_xml_text(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()


_QUERY_COMPATIBLE_NAMESPACES = {"sqs": "com.amazonaws.sqs", "cloudwatch": "com.amazonaws.cloudwatch"}


@lru_cache(maxsize=None)
def _error_shapes(service: str) -> dict[str, str]:
    """Error code -> error shape name (CloudWatch's InvalidParameterValue is the shape
    InvalidParameterValueException), for the query-compatible JSON and CBOR `__type`."""
    model = service_model(service)
    found = {}
    for name in model.shape_names:
        shape = model.shape_for(name)
        if shape.metadata.get("exception"):
            found.setdefault(shape.metadata.get("error", {}).get("code", name), name)
    return found


def _json_error(service: str, model: Any, code: str, message: str) -> tuple[int, list, bytes]:
    version = model.metadata.get("jsonVersion", "1.0")
    headers = [("Content-Type", f"application/x-amz-json-{version}"), ("x-amzn-RequestId", _request_id())]
    type_name = code
    if "awsQueryCompatible" in model.metadata:
        headers.append(("x-amzn-query-error", f"{code};Sender"))
        type_name = f"{_QUERY_COMPATIBLE_NAMESPACES.get(service, 'com.amazonaws.' + service)}#{_error_shapes(service).get(code, code)}"
    return 400, headers, json.dumps({"__type": type_name, "message": message}).encode()


def _cbor_error(code: str, message: str) -> tuple[int, list, bytes]:
    from . import cbor_bridge

    return cbor_bridge._error(400, code, message, _error_shapes("cloudwatch").get(code, code))


def _rest_json_error(code: str, message: str) -> tuple[int, list, bytes]:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", _request_id())]
    return 400, headers, json.dumps({"Type": "User", "message": message}).encode()


def _cloudfront_error(code: str, message: str) -> tuple[int, list, bytes]:
    request_id = _request_id()
    body = (
        '<?xml version="1.0"?>\n'
        '<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{_xml_text(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()


def _s3_error(code: str, message: str, method: str, argument: tuple[str, str] | None) -> tuple[int, list, bytes]:
    request_id = uuid.uuid4().hex[:16].upper()
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    if method == "HEAD":
        return 400, headers, b""
    extra = ""
    if argument is not None:
        extra = f"<ArgumentName>{_xml_text(argument[0])}</ArgumentName><ArgumentValue>{_xml_text(argument[1])}</ArgumentValue>"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{_xml_text(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>{base64.b64encode(uuid.uuid4().bytes).decode()}</HostId></Error>"
    )
    return 400, headers, body.encode()


CORAL_CODES = {
    "kinesis": "ValidationException",
    "logs": "InvalidParameterException",
    "events": "ValidationException",
    "lambda": "ValidationException",
    "iam": "ValidationError",
    "sts": "ValidationError",
    "cloudfront": "MalformedXML",
    "ssm": "ValidationException",
    "wafv2": "ValidationException",
    "dynamodb": "ValidationException",
}


def _summary(violations: list[Violation]) -> str:
    parts = []
    for violation in violations:
        value = "" if violation.kind == "required" else f" (value {_java_string(violation.value)[:200]!r})"
        parts.append(f"{_coral_path(violation.path) or '<input>'} {_coral_constraint(violation.kind, violation.limit) if violation.kind != 'enum' else 'Member must satisfy enum value set'}{value}")
    return "; ".join(parts).replace("\n", " ")


def _refusal(service: str, protocol: str, op: Any, violations: list[Violation], method: str) -> tuple[tuple[int, list, bytes], str]:
    """The service's answer to a request breaking `violations`, and a one-line summary."""
    model = service_model(service)
    typed = [v for v in violations if v.kind == "type"]
    if typed:
        # The deserialiser refuses a value of the wrong type before any constraint is looked at.
        violations = typed[:1]
    summary = _summary(violations)
    first = violations[0]

    if typed:
        where = _coral_path(first.path)
        got = _json_kind(first.value)
        if protocol in ("json", "cbor"):
            message = f"Cannot deserialize '{where}': expected {_type_word(first.limit)}, got {got} {_java_string(first.value)}"
            if protocol == "cbor":
                return _cbor_error("SerializationException", message), summary
            return _json_error(service, model, "SerializationException", message), summary
        if protocol == "rest-json":
            message = f"Could not parse request body into json: Could not parse payload into json: Cannot deserialize value of type {_type_word(first.limit)} for '{where}' from {got} {_java_string(first.value)}"
            return _rest_json_error("InvalidRequestContentException", message), summary
        if service == "cloudfront":
            return _cloudfront_error("MalformedInput", f"Invalid value '{_java_string(first.value)}' for {where}: expected {_type_word(first.limit)}"), summary
        if service == "s3":
            return _s3_refusal(first, method, typed=True), summary
        wire = _wire_path(first.path)
        return _query_error(model, "InvalidParameterValue", f"The value {_java_string(first.value)} for parameter {wire} is not a valid {_type_word(first.limit)}."), summary

    if service in CORAL_CODES:
        code, message = CORAL_CODES[service], _coral_message(violations)
        if protocol == "json":
            return _json_error(service, model, code, message), summary
        if protocol == "rest-json":
            return _rest_json_error(code, message), summary
        if protocol == "query":
            return _query_error(model, code, message), summary
        return _cloudfront_error(code, message), summary

    if service == "cloudwatch":
        missing = [v for v in violations if v.kind == "required"]
        chosen = missing or violations
        code = "MissingParameter" if missing else "InvalidParameterValue"
        message = "\n".join(_cloudwatch_text(v) for v in chosen)
        if protocol == "cbor":
            return _cbor_error(code, message), summary
        if protocol == "json":
            return _json_error(service, model, code, message), summary
        return _query_error(model, code, message), summary

    if service == "sns":
        where = _wire_path(first.path)
        reason = "no value for required parameter" if first.kind == "required" else _coral_constraint(first.kind, first.limit)
        return _query_error(model, "InvalidParameter", f"Invalid parameter: {where} Reason: {reason}"), summary

    if service == "sqs":
        where = _wire_path(first.path, list_word="")
        if first.kind == "required":
            return _json_error(service, model, "MissingParameter", f"The request must contain the parameter {where}."), summary
        if first.kind == "enum" and "AttributeName" in first.shape.name:
            # QueueAttributeName, MessageSystemAttributeName...: the model's own error shape.
            return _json_error(service, model, "InvalidAttributeName", f"Unknown Attribute {first.value}."), summary
        reason = _coral_constraint(first.kind, first.limit)
        return _json_error(service, model, "InvalidParameterValue", f"Value {_java_string(first.value)} for parameter {where} is invalid. Reason: {reason}."), summary

    if service == "s3":
        return _s3_refusal(first, method), summary

    return _query_error(model, "ValidationError", _coral_message(violations)), summary


def _s3_refusal(violation: Violation, method: str, typed: bool = False) -> tuple[int, list, bytes]:
    top = violation.path[0] if violation.path else None
    location = top[3] if top and top[0] == "m" else None
    constraint = _coral_constraint(violation.kind, violation.limit)
    if location in ("header", "headers", "querystring", "uri"):
        wire = top[2]
        if location == "headers":
            wire = top[2] + str(violation.path[1][1]) if len(violation.path) > 1 else top[2]
        value = "" if violation.kind == "required" else _java_string(violation.value)
        kind = {"header": "header", "headers": "header", "querystring": "query parameter", "uri": "URI label"}[location]
        message = f"Invalid argument: {kind} {wire}: {constraint}" if not typed else f"Invalid argument: {kind} {wire}: expected {_type_word(violation.limit)}"
        return _s3_error("InvalidArgument", message, method, (wire, value))
    where = "/".join(seg[2] if seg[0] == "m" else str(seg[1] + 1) if seg[0] == "i" else str(seg[1]) for seg in violation.path)
    detail = f"expected {_type_word(violation.limit)}" if typed else constraint
    message = f"The XML you provided was not well-formed or did not validate against our published schema ({where}: {detail})"
    return _s3_error("MalformedXML", message, method, None)
