"""Fault injection for tests: make the emulator answer chosen requests with an error.

    POST /_cfrp/faults   {"method": "POST", "path": "regex", "status": 400,
                          "content_type": "text/xml", "body": "...", "times": 1}
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


def control(method: str, body: bytes) -> tuple[int, list, bytes]:
    with _lock:
        if method == "DELETE":
            _faults.clear()
            return 200, [("Content-Type", "application/json")], b"{}"
        fault = json.loads(body or b"{}")
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
