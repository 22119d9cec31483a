"""Starts one extended emulator for the Python tests and gives them botocore clients.

botocore is an independent AWS client (its own serialisers and parsers from the same models),
so these tests check the extension's wire format against a real SDK, not against itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent.parent


def _start(*extra: str):
    port_file = Path(tempfile.mkdtemp()) / "endpoint"
    process = subprocess.Popen(
        [sys.executable, "-m", "cfrp_emulator.server", "--port", "0", "--port-file", str(port_file), "--parent-pid", str(os.getpid()), *extra],
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("emulator did not start within 30 s")
        time.sleep(0.05)
    return process, port_file.read_text().strip()


@pytest.fixture(scope="session")
def endpoint():
    process, endpoint = _start()
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


# The latency model at 1/100 of AWS's delays: a distribution deploys in 2.4 s, a stream is
# active after 0.3 s, a role assumable after 0.1 s.
LATENCY_SCALE = 0.01


@pytest.fixture(scope="session")
def slow_endpoint():
    process, endpoint = _start("--latency", "aws", "--scale", str(LATENCY_SCALE))
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture()
def cloudfront(endpoint):
    return boto3.client(
        "cloudfront",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )
