"""Wire codecs driven by botocore's service models (shipped with moto's dependency botocore).

Using the published models instead of hand-written XML templates keeps the emulator's wire
shapes identical to what the AWS SDKs expect: element names, list member names, timestamp and
blob encodings all come from the same JSON model the SDKs are generated from.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

import botocore.loaders
import botocore.model


@lru_cache(maxsize=None)
def service_model(service: str) -> botocore.model.ServiceModel:
    loader = botocore.loaders.Loader()
    return botocore.model.ServiceModel(loader.load_service_model(service, "service-2"), service)


class ValidationFailure(Exception):
    """A request that AWS would reject before acting on it (InvalidArgument and friends)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------- timestamps


def to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    text = str(value).replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def iso8601(value: Any) -> str:
    stamp = to_datetime(value).astimezone(dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- REST-XML


def _member_xml_name(name: str, shape: botocore.model.Shape) -> str:
    return shape.serialization.get("name", name)


def xml_to_value(elem: ET.Element, shape: botocore.model.Shape) -> Any:
    """Parse one XML element into Python values according to `shape`."""
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        children = list(elem)
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            xml_name = _member_xml_name(name, member)
            if member.type_name == "list" and member.serialization.get("flattened"):
                found = [c for c in children if _local(c.tag) == xml_name]
                if found:
                    out[name] = [xml_to_value(c, member.member) for c in found]
                continue
            child = next((c for c in children if _local(c.tag) == xml_name), None)
            if child is not None:
                out[name] = xml_to_value(child, member)
        return out
    if kind == "list":
        return [xml_to_value(c, shape.member) for c in list(elem)]
    text = elem.text or ""
    if kind in ("integer", "long"):
        try:
            return int(text.strip())
        except ValueError as err:
            raise ValidationFailure("InvalidArgument", f"'{text}' is not an integer") from err
    if kind in ("float", "double"):
        return float(text.strip())
    if kind == "boolean":
        return text.strip() == "true"
    if kind == "timestamp":
        return to_datetime(text.strip())
    if kind == "blob":
        return base64.b64decode(text)
    return text


def value_to_xml(name: str, value: Any, shape: botocore.model.Shape) -> ET.Element:
    """Serialise a Python value into an XML element named `name` according to `shape`."""
    elem = ET.Element(name)
    kind = shape.type_name
    if kind == "structure":
        for member_name, member in shape.members.items():
            if member.serialization.get("location") or member_name not in value:
                continue
            member_value = value[member_name]
            if member_value is None:
                continue
            xml_name = _member_xml_name(member_name, member)
            if member.type_name == "list" and member.serialization.get("flattened"):
                for item in member_value:
                    elem.append(value_to_xml(xml_name, item, member.member))
            else:
                elem.append(value_to_xml(xml_name, member_value, member))
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        for item in value:
            elem.append(value_to_xml(item_name, item, shape.member))
    elif kind == "boolean":
        elem.text = "true" if value else "false"
    elif kind == "timestamp":
        elem.text = iso8601(value)
    elif kind == "blob":
        elem.text = base64.b64encode(value).decode()
    else:
        elem.text = str(value)
    return elem


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_document(root: ET.Element, namespace: str | None) -> bytes:
    if namespace:
        root.set("xmlns", namespace)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


# ---------------------------------------------------------------- validation


def validate(value: Any, shape: botocore.model.Shape, path: str) -> None:
    """The constraints the model declares (required, enum, length and range, pattern), plus
    CloudFront's rule that every `Quantity` equals the number of `Items`.

    AWS rejects violations with InvalidArgument / InconsistentQuantities before acting.
    """
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            raise ValidationFailure("InvalidArgument", f"{path} must be a structure")
        for required in shape.required_members:
            if required not in value and not shape.members[required].serialization.get("location"):
                raise ValidationFailure("InvalidArgument", f"{path}.{required} is required")
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                validate(value[name], member, f"{path}.{name}")
        if "Quantity" in shape.members and "Items" in shape.members:
            items = value.get("Items") or []
            if value.get("Quantity") != len(items):
                raise ValidationFailure(
                    "InconsistentQuantities",
                    f"{path}.Quantity is {value.get('Quantity')} but {len(items)} items were given",
                )
        return
    if kind == "list":
        if "min" in meta and len(value) < meta["min"]:
            raise ValidationFailure("InvalidArgument", f"{path} needs at least {meta['min']} items")
        if "max" in meta and len(value) > meta["max"]:
            raise ValidationFailure("InvalidArgument", f"{path} allows at most {meta['max']} items")
        for index, item in enumerate(value):
            validate(item, shape.member, f"{path}[{index}]")
        return
    if kind == "string":
        if shape.enum and value not in shape.enum:
            raise ValidationFailure(
                "InvalidArgument", f"{path} '{value}' is not one of {', '.join(shape.enum)}"
            )
        if "min" in meta and len(value) < meta["min"]:
            raise ValidationFailure("InvalidArgument", f"{path} is shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            raise ValidationFailure("InvalidArgument", f"{path} is longer than {meta['max']}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            raise ValidationFailure(
                "InvalidArgument", f"{path} '{value}' does not match {meta['pattern']}"
            )
    if kind in ("integer", "long"):
        if "min" in meta and value < meta["min"]:
            raise ValidationFailure("InvalidArgument", f"{path} must be at least {meta['min']}")
        if "max" in meta and value > meta["max"]:
            raise ValidationFailure("InvalidArgument", f"{path} must be at most {meta['max']}")
    if kind == "blob" and "max" in meta and len(value) > meta["max"]:
        raise ValidationFailure("InvalidArgument", f"{path} is larger than {meta['max']} bytes")


# ---------------------------------------------------------------- JSON <-> CBOR values


def json_ready(value: Any) -> Any:
    """CBOR request values as AWS JSON 1.0 expects them: timestamps as epoch seconds, blobs
    as base64 strings."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, dt.datetime):
        return to_datetime(value).timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def cbor_ready(value: Any, shape: botocore.model.Shape | None) -> Any:
    """JSON 1.0 response values coerced to the types the RPCv2 CBOR protocol carries:
    timestamps become datetimes (encoded as CBOR tag 1), doubles floats, blobs bytes."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {
            name: cbor_ready(value[name], member)
            for name, member in shape.members.items()
            if name in value and value[name] is not None
        }
    if kind == "list":
        return [cbor_ready(v, shape.member) for v in value]
    if kind == "map":
        return {k: cbor_ready(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return to_datetime(value)
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "blob":
        return base64.b64decode(value) if isinstance(value, str) else value
    return value
