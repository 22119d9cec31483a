"""CloudWatch over Smithy RPCv2 CBOR, translated to moto's JSON 1.0 CloudWatch handler.

The current Rust `aws-sdk-cloudwatch` speaks only RPCv2 CBOR
(`POST /service/GraniteServiceVersion20100801/operation/<Op>`, `application/cbor`); moto
answers CloudWatch over Query and JSON 1.0. Both protocols carry the same model shapes, so the
bridge decodes the CBOR document, hands the same document to moto as JSON 1.0, and re-encodes
the answer (and errors, with `__type`) as CBOR. Timestamps travel as CBOR tag 1 (epoch
seconds), per the RPCv2 CBOR protocol specification.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from typing import Any, Callable

import cbor2

from . import metric_limits
from .shapes import cbor_ready, json_ready, service_model

TARGET_PREFIX = "GraniteServiceVersion20100801"
PATH = re.compile(rf"^/service/{TARGET_PREFIX}/operation/(?P<op>[A-Za-z]+)$")


def match(method: str, path: str) -> str | None:
    found = PATH.match(path)
    return found.group("op") if method == "POST" and found else None


def handle(operation: str, environ: dict[str, Any], body: bytes, moto_app: Callable) -> tuple[int, list, bytes]:
    model = service_model("cloudwatch")
    try:
        op_model = model.operation_model(operation)
    except Exception:
        return _error(404, "UnknownOperationException", f"CloudWatch has no operation {operation}")

    if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        # PutMetricData carries @requestCompression: the SDK gzips large bodies.
        body = gzip.decompress(body)
    try:
        document = cbor2.loads(body) if body else {}
    except Exception as err:  # cbor2 raises several decoder error types
        return _error(400, "SerializationException", f"request body is not CBOR: {err}")

    if operation == "PutMetricData":
        # The datums are checked where every protocol meets, in moto's backend
        # (metric_limits.apply); only the size is visible here.
        refused = metric_limits.check_size(len(body))
        if refused is not None:
            return _error(400, "InvalidParameterValue", refused, _error_shape(op_model, "InvalidParameterValue"))

    json_body = json.dumps(json_ready(document)).encode()
    inner = dict(environ)
    inner.update(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "RAW_URI": "/",
            "REQUEST_URI": "/",
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "CONTENT_LENGTH": str(len(json_body)),
            "HTTP_X_AMZ_TARGET": f"{TARGET_PREFIX}.{operation}",
            "wsgi.input": io.BytesIO(json_body),
        }
    )
    inner.pop("HTTP_CONTENT_ENCODING", None)
    inner.pop("HTTP_SMITHY_PROTOCOL", None)

    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = headers
        return lambda _data: None

    chunks = moto_app(inner, start_response)
    try:
        raw = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status = captured.get("status", 500)
    answer = json.loads(raw) if raw.strip() else {}

    if status >= 400:
        code = str(answer.get("__type", "InternalFailure")).rsplit("#", 1)[-1]
        message = answer.get("message") or answer.get("Message") or ""
        return _error(status, code, message, _error_shape(op_model, code))

    output = cbor_ready(answer, op_model.output_shape) if op_model.output_shape else {}
    return 200, _headers(), cbor2.dumps(output, datetime_as_timestamp=True)


def _headers() -> list[tuple[str, str]]:
    return [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]


def _error_shape(op_model: Any, code: str) -> str:
    """Query-era error code (what moto raises, e.g. ResourceNotFound) -> the operation's error
    shape with that code (GetDashboard: DashboardNotFoundError), which RPCv2 CBOR carries in
    `__type`. Several shapes share a code, so the operation's own error list decides."""
    for shape in op_model.error_shapes:
        if shape.metadata.get("error", {}).get("code", shape.name) == code:
            return shape.name
    return code


def _error(status: int, code: str, message: str, shape: str | None = None) -> tuple[int, list, bytes]:
    headers = _headers()
    # CloudWatch is awsQueryCompatible: SDKs read the Query-era error code from this header,
    # and the error shape from `__type`.
    sender = "Sender" if status < 500 else "Receiver"
    headers.append(("x-amzn-query-error", f"{code};{sender}"))
    type_name = f"com.amazonaws.cloudwatch#{shape or code}"
    return status, headers, cbor2.dumps({"__type": type_name, "message": message})
