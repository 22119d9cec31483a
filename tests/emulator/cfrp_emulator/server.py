"""moto server with the project's extensions in front of it.

    python -m cfrp_emulator.server --port 0 --port-file PATH [--parent-pid PID]
                                   [--latency aws --scale 0.1]

Binds 127.0.0.1 only. With --port 0 the OS picks a free port; the chosen endpoint is printed
and written to --port-file once the server accepts connections. With --parent-pid the server
exits when that process is gone, so a crashed test run never leaves an emulator behind.
With --latency aws every call pays a base delay and resources become ready only after the delays
AWS documents, multiplied by --scale (see latency.py); off by default. CloudFront's limits on
invalidations in progress apply always; `POST /_cfrp/invalidations {"hold": true}` keeps
invalidations in progress until `{"hold": false}` (see invalidation_limits.py).
"""

from __future__ import annotations

import io
import json
import re
import urllib.parse

import argparse
import os
import sys
import threading
import time
from typing import Any, Callable

from moto.cloudfront.models import cloudfront_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from . import cbor_bridge, distribution_edge, faults, invalidation_limits, latency, log_delivery, metric_limits, model_validation, moto_patches, sqs_metrics, sso_portal, wafv2_ext
from .cloudfront_ext import ACCOUNT
from .staging import StagingExtension

MAX_BODY = 16 * 1024 * 1024

_requests_lock = threading.Lock()
_requests = [0]
# Requests answered by `service:Operation` (the service model's names), for tests that check
# which operations a client sent; `unidentified` counts those no model or header named.
_operations: dict[str, int] = {}


def _distributions() -> list[Any]:
    try:
        return list(cloudfront_backends[ACCOUNT]["global"].distributions.values())
    except KeyError:
        return []


class ExtendedApp:
    """WSGI middleware: the service-model check (model_validation), then CloudWatch CBOR and the
    CloudFront extension, moto for the rest."""

    def __init__(self, moto_app: Callable) -> None:
        self.moto_app = moto_app
        self.cloudfront = StagingExtension(_distributions, lambda: cloudfront_backends[ACCOUNT]["global"])

    def __call__(self, environ: dict[str, Any], start_response: Callable):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        if path == "/_cfrp/faults":
            return self._answer(start_response, *faults.control(method, _read_body(environ)))
        if path == "/_cfrp/invalidations":
            # Hold invalidations in progress, or release them (invalidation_limits.py).
            return self._answer(start_response, *invalidation_limits.control(method, _read_body(environ)))
        if path == "/_cfrp/sqs-metrics":
            return self._answer(start_response, *sqs_metrics.control(method))
        if path == "/_cfrp/requests":
            # How many AWS requests this emulator has answered: a benchmark's call count.
            with _requests_lock:
                answer = {"requests": _requests[0], "operations": dict(sorted(_operations.items()))}
            return self._answer(start_response, 200, [("Content-Type", "application/json")], json.dumps(answer).encode())
        if path == "/_cfrp/model-validation":
            # What the model validation refused, skipped and let through unparsed.
            return self._answer(start_response, 200, [("Content-Type", "application/json")], json.dumps(model_validation.stats()).encode())
        with _requests_lock:
            _requests[0] += 1
        latency.before_request()
        # AWS checks a request against its service model before anything else looks at it; a
        # CreateInvalidation without a body is MissingBody, not a model violation.
        refused = invalidation_limits.missing_body(method, path, environ) or model_validation.check(environ)
        target = environ.get("HTTP_X_AMZ_TARGET") or cbor_bridge.match(method, path) or ""
        named = _named_operation(environ, target)
        with _requests_lock:
            _operations[named] = _operations.get(named, 0) + 1
        if refused is not None:
            return self._answer(start_response, *refused)
        injected = faults.take(method, path, target)
        if injected is None and faults.active():
            injected = faults.take_mutating(method, _operation(environ, target))
        if injected is not None:
            return self._answer(start_response, *injected)
        if sso_portal.match(method, path):
            return self._answer(start_response, *sso_portal.refuse())
        operation = cbor_bridge.match(method, path)
        routed = None if operation else self.cloudfront.match(method, path)
        if operation is None and routed is None:
            return self.moto_app(environ, start_response)
        body = _read_body(environ)
        if operation is not None:
            status, headers, payload = cbor_bridge.handle(operation, environ, body, self.moto_app)
        else:
            op, uri = routed
            headers_in = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
            status, headers, payload = self.cloudfront.handle(op, uri, environ.get("QUERY_STRING", ""), headers_in, body)
        return self._answer(start_response, status, headers, payload)

    @staticmethod
    def _answer(start_response: Callable, status: int, headers: list, payload: bytes):
        headers = list(headers) + [("Content-Length", str(len(payload)))]
        start_response(f"{status} {_reason(status)}", headers)
        return [payload]


def _operation(environ: dict[str, Any], target: str) -> str:
    """The operation a request names, if its protocol names one: the X-Amz-Target or CBOR
    operation, or the query protocol's Action (in the query string or the form body, which
    is put back for moto to read)."""
    if target:
        return target.rsplit(".", 1)[-1]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return ""


def _named_operation(environ: dict[str, Any], target: str) -> str:
    """`service:Operation` of a request: as the service-model check identified it, else the
    SigV4 credential scope's service and the operation the protocol names (a service whose
    model the check does not load, such as SSM), else `unidentified`."""
    named = environ.get(model_validation.OPERATION_KEY)
    if named:
        return named
    scope = re.search(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request", environ.get("HTTP_AUTHORIZATION", ""))
    operation = _operation(environ, target)
    if scope is not None and operation:
        return f"{scope.group(1)}:{operation}"
    return "unidentified"


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length:
        return stream.read(min(length, MAX_BODY))
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
        return stream.read(MAX_BODY)
    return b""


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _watch_parent(pid: int, server: Any) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            server.shutdown()
            return
        except PermissionError:
            pass
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--latency", choices=["none", "aws"], default="none", help="latency model (see latency.py)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every delay of the latency model")
    args = parser.parse_args(argv)

    moto_patches.apply()
    distribution_edge.apply()
    wafv2_ext.apply()
    invalidation_limits.apply()
    metric_limits.apply()
    log_delivery.apply()
    sqs_metrics.apply(background=True)
    latency.configure(args.latency, args.scale)
    model_validation.warm()
    app = ExtendedApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)
    endpoint = f"http://127.0.0.1:{server.server_port}"
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid, server), daemon=True).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(endpoint + "\n")
        os.replace(tmp, args.port_file)
    print(endpoint, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
