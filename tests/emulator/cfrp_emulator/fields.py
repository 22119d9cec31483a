"""The documented real-time log field names, read from the config crate's list so the
emulator validates exactly what the product sends."""

from __future__ import annotations

from pathlib import Path

_LIST = Path(__file__).resolve().parents[3] / "shared" / "realtime-log-fields.txt"

REALTIME_LOG_FIELDS = frozenset(
    line.strip() for line in _LIST.read_text().splitlines() if line.strip() and not line.startswith("#")
)

_STANDARD = Path(__file__).resolve().parents[3] / "shared" / "standard-log-fields.txt"

STANDARD_LOG_FIELDS = frozenset(
    line.strip() for line in _STANDARD.read_text().splitlines() if line.strip() and not line.startswith("#")
)
