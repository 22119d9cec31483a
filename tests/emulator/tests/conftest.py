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


@pytest.fixture(scope="session")
def endpoint():
    port_file = Path(tempfile.mkdtemp()) / "endpoint"
    process = subprocess.Popen(
        [sys.executable, "-m", "cfrp_emulator.server", "--port", "0", "--port-file", str(port_file), "--parent-pid", str(os.getpid())],
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
    yield port_file.read_text().strip()
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
