"""Fault injection for tests: make the emulator answer chosen requests with an error.

    POST /_cfrp/faults   {"method": "POST", "path": "regex", "status": 400,
                          "content_type": "text/xml", "body": "...", "times": 1}
    POST /_cfrp/faults   {"mutating_after": N, "status": 400, "body": "..."}
                         lets N mutating requests through, then fails every later one
                         (a deployment killed at its N+1th change)
    GET /_cfrp/faults     lists the faults held, each with its remaining "times"
    DELETE /_cfrp/faults  clears every fault

A fault matches by method and a regular expression over the path (and, with "target", the
X-Amz-Target or the CBOR operation). Each match uses one of its "times"; "times": -1 never
runs out. Faults are how tests show what the product does when AWS says no (throttling,
TooManyInvalidationsInProgress, an interrupted deployment).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

_lock = threading.Lock()
_faults: list[dict[str, Any]] = []
# The "fail every mutating request after N" fault, and how many passed since it was set.
_mutating: dict[str, Any] = {}

# Operations that only read, by name prefix (AWS API naming).
_READS = ("Get", "List", "Describe", "Head", "Lookup", "Receive", "Search", "Batch" + "Get")


def is_mutating(method: str, operation: str) -> bool:
    """Whether a request changes state: by its operation name when the protocol names it
    (X-Amz-Target, the CBOR path, a query Action), else by its HTTP method (REST APIs)."""
    if operation:
        return not operation.startswith(_READS)
    return method in ("POST", "PUT", "DELETE", "PATCH")


def control(method: str, body: bytes) -> tuple[int, list, bytes]:
    with _lock:
        if method == "GET":
            held = [{k: v for k, v in f.items() if k != "regex"} for f in _faults]
            return 200, [("Content-Type", "application/json")], json.dumps(held).encode()
        if method == "DELETE":
            _faults.clear()
            _mutating.clear()
            return 200, [("Content-Type", "application/json")], b"{}"
        fault = json.loads(body or b"{}")
        if "mutating_after" in fault:
            _mutating.clear()
            _mutating.update(
                after=int(fault["mutating_after"]),
                seen=0,
                status=int(fault.get("status", 400)),
                body=fault.get("body", '{"__type":"InjectedFault","message":"injected by a test"}'),
                content_type=fault.get("content_type", "application/json"),
            )
            return 200, [("Content-Type", "application/json")], b"{}"
        for key in ("method", "path", "status", "body"):
            if key not in fault:
                return 400, [("Content-Type", "application/json")], json.dumps({"error": f"fault needs {key}"}).encode()
        fault.setdefault("times", 1)
        fault.setdefault("content_type", "text/xml")
        fault["regex"] = re.compile(fault["path"])
        _faults.append(fault)
        return 200, [("Content-Type", "application/json")], b"{}"


def take(method: str, path: str, target: str) -> tuple[int, list, bytes] | None:
    with _lock:
        for fault in _faults:
            if fault["method"] != method or not fault["regex"].search(path):
                continue
            if fault.get("target") and fault["target"] != target:
                continue
            if fault["times"] == 0:
                continue
            if fault["times"] > 0:
                fault["times"] -= 1
            body = fault["body"].encode() if isinstance(fault["body"], str) else bytes(fault["body"])
            return fault["status"], [("Content-Type", fault["content_type"])], body
    return None


def take_mutating(method: str, operation: str) -> tuple[int, list, bytes] | None:
    with _lock:
        if not _mutating or not is_mutating(method, operation):
            return None
        _mutating["seen"] += 1
        if _mutating["seen"] <= _mutating["after"]:
            return None
        return _mutating["status"], [("Content-Type", _mutating["content_type"])], _mutating["body"].encode()


def active() -> bool:
    with _lock:
        return bool(_mutating)
