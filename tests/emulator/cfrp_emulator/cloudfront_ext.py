"""CloudFront APIs that moto lacks, served beside moto's own CloudFront.

Covers real-time log configs, cache / origin request / response headers policies (with AWS's
managed policies present under their published ids), and the whole CloudFront Functions API
with its DEVELOPMENT and LIVE stages (moto keeps one stage, no publish, no ETag checks, so the
extension owns every /function route).

Faithful to the CloudFront API reference: the botocore model gives routes, XML shapes and the
declared constraints; the rules the model cannot express (ETag/If-Match, name uniqueness,
in-use checks, TTL ordering, quotas, managed policies being read-only) are coded below.
State is per emulator process and per account, like moto's.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from typing import Any, Callable
from urllib.parse import parse_qs, unquote

from . import latency, managed_policies
from .cloudfront_monitoring import OPERATIONS as MONITORING_OPERATIONS, MonitoringSubscriptions
from .shapes import ValidationFailure, service_model, validate, value_to_xml, xml_document, xml_to_value

API = "2020-05-31"
NAMESPACE = f"http://cloudfront.amazonaws.com/doc/{API}/"
ACCOUNT = "123456789012"

# Quotas from the CloudFront developer guide ("Quotas"): per account.
MAX_REALTIME_LOG_CONFIGS = 15
MAX_CUSTOM_POLICIES = 20
MAX_FUNCTIONS = 100

# Field names accepted in a real-time log config; kept in step with the config crate's
# documented list (shared/src/fields.rs), which a test compares against this set.
from .fields import REALTIME_LOG_FIELDS  # noqa: E402

HANDLED_OPERATIONS = [
    "CreateRealtimeLogConfig",
    "GetRealtimeLogConfig",
    "UpdateRealtimeLogConfig",
    "DeleteRealtimeLogConfig",
    "ListRealtimeLogConfigs",
    "CreateCachePolicy",
    "GetCachePolicy",
    "GetCachePolicyConfig",
    "UpdateCachePolicy",
    "DeleteCachePolicy",
    "ListCachePolicies",
    "CreateOriginRequestPolicy",
    "GetOriginRequestPolicy",
    "GetOriginRequestPolicyConfig",
    "UpdateOriginRequestPolicy",
    "DeleteOriginRequestPolicy",
    "ListOriginRequestPolicies",
    "CreateResponseHeadersPolicy",
    "GetResponseHeadersPolicy",
    "GetResponseHeadersPolicyConfig",
    "UpdateResponseHeadersPolicy",
    "DeleteResponseHeadersPolicy",
    "ListResponseHeadersPolicies",
    "CreateFunction",
    "DescribeFunction",
    "GetFunction",
    "UpdateFunction",
    "PublishFunction",
    "DeleteFunction",
    "ListFunctions",
]
HANDLED_OPERATIONS += MONITORING_OPERATIONS


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _etag() -> str:
    return uuid.uuid4().hex[:14].upper()


def _route_regex(request_uri: str) -> re.Pattern[str]:
    path = request_uri.split("?", 1)[0]
    pattern = re.sub(r"\{(\w+)\+?\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", path)
    return re.compile(f"^{pattern}/?$")


# CloudFront quotas ("Quotas", response headers policies and cache policies) and the
# documented rules the botocore model cannot express.
MAX_KEY_NAMES = 10
MAX_CUSTOM_HEADERS = 10
MAX_REMOVE_HEADERS = 10
MAX_CSP_LENGTH = 1783

# Headers a response headers policy cannot remove (developer guide, "Understand response
# headers policies", Remove headers); a trailing `*` is a prefix. Kept in step with the config
# crate's list (shared/src/load/policies.rs).
UNREMOVABLE_HEADERS = [
    "Connection", "Content-Encoding", "Content-Length", "Expect", "Host", "Keep-Alive",
    "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Trailer",
    "Transfer-Encoding", "Upgrade", "Via", "Warning", "X-Accel-Buffering", "X-Accel-Charset",
    "X-Accel-Limit-Rate", "X-Accel-Redirect", "X-Amz-Cf-*", "X-Amzn-Auth", "X-Amzn-Cf-Billing",
    "X-Amzn-Cf-Id", "X-Amzn-Cf-Xff", "X-Amzn-ErrorType", "X-Amzn-Fle-Profile",
    "X-Amzn-Header-Count", "X-Amzn-Header-Order", "X-Amzn-Lambda-Integration-Tag",
    "X-Amzn-RequestId", "X-Cache", "X-Edge-*", "X-Forwarded-Proto", "X-Real-IP",
]


def _unremovable(name: str) -> bool:
    lower = name.lower()
    for header in UNREMOVABLE_HEADERS:
        h = header.lower()
        if (h.endswith("*") and lower.startswith(h[:-1])) or lower == h:
            return True
    return False


def _items(container: dict[str, Any] | None) -> list[Any]:
    return list((container or {}).get("Items") or [])


def _check_quantity(container: dict[str, Any] | None, what: str) -> None:
    if container is not None and container.get("Quantity") != len(_items(container)):
        raise ApiError("InconsistentQuantities", f"{what}: the value of Quantity and the size of Items don't match")


def _check_key_list(config: dict[str, Any], kind: str, names_key: str, too_many: str) -> None:
    """CookiesConfig / QueryStringsConfig: names only with whitelist / allExcept, and then at
    least one; at most 10."""
    behavior = config.get(f"{kind}Behavior")
    names = config.get(names_key)
    _check_quantity(names, names_key)
    listed = _items(names)
    if behavior in ("whitelist", "allExcept"):
        if not listed:
            raise ApiError("InvalidArgument", f"{kind}Behavior {behavior} needs at least one name in {names_key}")
    elif listed:
        raise ApiError("InvalidArgument", f"{names_key} can only be given with {kind}Behavior whitelist or allExcept, not {behavior}")
    if len(listed) > MAX_KEY_NAMES:
        raise ApiError(too_many, f"a cache policy lists at most {MAX_KEY_NAMES} {names_key.lower()}")


def _check_response_headers_policy(config: dict[str, Any]) -> None:
    cors = config.get("CorsConfig")
    if cors is not None:
        for key in ("AccessControlAllowOrigins", "AccessControlAllowHeaders", "AccessControlAllowMethods", "AccessControlExposeHeaders"):
            _check_quantity(cors.get(key), key)
        origins = _items(cors.get("AccessControlAllowOrigins"))
        if not origins:
            raise ApiError("InvalidArgument", "AccessControlAllowOrigins needs at least one origin")
        if cors.get("AccessControlAllowCredentials") and "*" in origins:
            raise ApiError("InvalidArgument", "AccessControlAllowCredentials cannot be true when AccessControlAllowOrigins contains *")
        if not _items(cors.get("AccessControlAllowMethods")):
            raise ApiError("InvalidArgument", "AccessControlAllowMethods needs at least one method")
    security = config.get("SecurityHeadersConfig") or {}
    csp = (security.get("ContentSecurityPolicy") or {}).get("ContentSecurityPolicy")
    if csp is not None and len(csp) > MAX_CSP_LENGTH:
        raise ApiError("TooLongCSPInResponseHeadersPolicy", f"the Content-Security-Policy is {len(csp)} characters; at most {MAX_CSP_LENGTH}")
    timing = config.get("ServerTimingHeadersConfig")
    if timing is not None:
        rate = timing.get("SamplingRate")
        # The model bounds it 0-100; four decimal places is the API reference's rule.
        if rate is not None and abs(rate * 10000 - round(rate * 10000)) > 1e-6:
            raise ApiError("InvalidArgument", f"SamplingRate {rate} has more than four decimal places")
    custom = config.get("CustomHeadersConfig")
    _check_quantity(custom, "CustomHeadersConfig")
    if len(_items(custom)) > MAX_CUSTOM_HEADERS:
        raise ApiError("TooManyCustomHeadersInResponseHeadersPolicy", f"at most {MAX_CUSTOM_HEADERS} custom headers")
    seen: set[str] = set()
    for header in _items(custom):
        name = header.get("Header", "").lower()
        if name in seen:
            raise ApiError("InvalidArgument", f"custom header {header.get('Header')} is given twice")
        seen.add(name)
    remove = config.get("RemoveHeadersConfig")
    _check_quantity(remove, "RemoveHeadersConfig")
    if len(_items(remove)) > MAX_REMOVE_HEADERS:
        raise ApiError("TooManyRemoveHeadersInResponseHeadersPolicy", f"at most {MAX_REMOVE_HEADERS} headers to remove")
    for header in _items(remove):
        name = header.get("Header", "")
        if _unremovable(name):
            raise ApiError("InvalidArgument", f"the header {name} cannot be removed by a response headers policy")
        if name.lower() in seen:
            raise ApiError("InvalidArgument", f"the header {name} is both added and removed")


class CloudFrontExtension(MonitoringSubscriptions):
    """WSGI-level handler: `match()` says whether a request is ours, `handle()` answers it."""

    def __init__(self, distributions: Callable[[], list[Any]]) -> None:
        self.model = service_model("cloudfront")
        self.routes = []
        for name in HANDLED_OPERATIONS:
            op = self.model.operation_model(name)
            self.routes.append((op.http["method"], _route_regex(op.http["requestUri"]), op))
        self.lock = threading.Lock()
        self.distributions = distributions
        self.realtime_log_configs: dict[str, dict[str, Any]] = {}
        self.functions: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, dict[str, Any]]] = {
            kind: {pid: dict(p) for pid, p in managed_policies.MANAGED[kind].items()}
            for kind in ("CachePolicy", "OriginRequestPolicy", "ResponseHeadersPolicy")
        }

    # ------------------------------------------------------------ dispatch

    def match(self, method: str, path: str) -> tuple[Any, dict[str, str]] | None:
        for route_method, regex, op in self.routes:
            if route_method != method:
                continue
            found = regex.match(path)
            if found:
                return op, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def handle(self, op: Any, uri: dict[str, str], query: str, headers: dict[str, str], body: bytes):
        """Returns (status, headers, body)."""
        try:
            params = self._parse_input(op, uri, query, headers, body)
            handler = getattr(self, "op_" + op.name)
            with self.lock:
                result = handler(params)
            return self._serialise_output(op, result)
        except ValidationFailure as err:
            return self._error(err.code, err.message)
        except ApiError as err:
            return self._error(err.code, err.message)

    def _parse_input(self, op: Any, uri: dict[str, str], query: str, headers: dict[str, str], body: bytes):
        shape = op.input_shape
        params: dict[str, Any] = {}
        if shape is None:
            return params
        qs = parse_qs(query, keep_blank_values=True)
        lowered = {k.lower(): v for k, v in headers.items()}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri" and wire in uri:
                params[name] = uri[wire]
            elif location == "querystring" and wire in qs:
                params[name] = qs[wire][0]
            elif location == "header" and wire.lower() in lowered:
                params[name] = lowered[wire.lower()]
        payload = shape.serialization.get("payload")
        if body.strip():
            try:
                root = ET.fromstring(body)
            except ET.ParseError as err:
                raise ValidationFailure("MalformedXML", f"request body is not XML: {err}") from err
            if payload:
                params[payload] = xml_to_value(root, shape.members[payload])
            else:
                params.update(xml_to_value(root, shape))
        validate(params, shape, op.name)
        return params

    def _serialise_output(self, op: Any, result: dict[str, Any]):
        status = op.http.get("responseCode", 200)
        shape = op.output_shape
        headers = [("x-amz-request-id", str(uuid.uuid4()))]
        if shape is None:
            return status, headers, b""
        for name, member in shape.members.items():
            if member.serialization.get("location") == "header" and name in result:
                wire = member.serialization.get("name", name)
                # The model spells UpdateFunction's header "ETtag"; CloudFront sends "ETag".
                headers.append(("ETag" if wire == "ETtag" else wire, str(result[name])))
        payload = shape.serialization.get("payload")
        if payload:
            member = shape.members[payload]
            if member.type_name == "blob":
                if not any(name.lower() == "content-type" for name, _ in headers):
                    headers.append(("Content-Type", "application/octet-stream"))
                return status, headers, result.get(payload, b"")
            root = value_to_xml(member.serialization.get("name", payload), result[payload], member)
        else:
            root = value_to_xml(shape.name, result, shape)
        headers.append(("Content-Type", "text/xml"))
        return status, headers, xml_document(root, NAMESPACE)

    def _error(self, code: str, message: str):
        status = 400
        try:
            status = self.model.shape_for(code).metadata["error"]["httpStatusCode"]
        except Exception:  # codes outside the model (MalformedXML) stay 400
            pass
        root = ET.Element("ErrorResponse")
        error = ET.SubElement(root, "Error")
        ET.SubElement(error, "Type").text = "Sender"
        ET.SubElement(error, "Code").text = code
        ET.SubElement(error, "Message").text = message
        ET.SubElement(root, "RequestId").text = str(uuid.uuid4())
        return status, [("Content-Type", "text/xml")], xml_document(root, NAMESPACE)

    # ------------------------------------------------------------ in-use checks

    def _behaviours(self) -> list[Any]:
        found = []
        for dist in self.distributions():
            config = dist.distribution_config
            found.append(config.DefaultCacheBehavior)
            found.extend(config.CacheBehaviors.get("Items") or [])
        return found

    def _in_use(self, attribute: str, value: str) -> bool:
        return any(getattr(b, attribute, None) == value for b in self._behaviours())

    def _function_in_use(self, arn: str) -> bool:
        for behaviour in self._behaviours():
            associations = getattr(behaviour, "function_associations", None) or {}
            for item in associations.get("Items") or []:
                if item.get("FunctionARN") == arn:
                    return True
        return False

    # ------------------------------------------------------------ real-time log configs

    def _check_realtime_fields(self, params: dict[str, Any]) -> None:
        rate = params.get("SamplingRate")
        if rate is not None and not 1 <= rate <= 100:
            raise ApiError("InvalidArgument", f"SamplingRate {rate} must be between 1 and 100")
        fields = params.get("Fields")
        if fields is not None:
            if not fields:
                raise ApiError("InvalidArgument", "Fields must name at least one field")
            unknown = [f for f in fields if f not in REALTIME_LOG_FIELDS]
            if unknown:
                raise ApiError("InvalidArgument", f"unknown real-time log fields: {', '.join(unknown)}")
            if len(set(fields)) != len(fields):
                raise ApiError("InvalidArgument", "Fields must not repeat a field")
        for endpoint in params.get("EndPoints") or []:
            if endpoint.get("StreamType") != "Kinesis":
                raise ApiError("InvalidArgument", "EndPoints.StreamType must be Kinesis")
            kinesis = endpoint.get("KinesisStreamConfig")
            if not kinesis:
                raise ApiError("InvalidArgument", "EndPoints.KinesisStreamConfig is required")
            if not re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+", kinesis["RoleARN"]):
                raise ApiError("InvalidArgument", f"RoleARN '{kinesis['RoleARN']}' is not an IAM role ARN")
            if latency.role_propagating(kinesis["RoleARN"]):
                raise ApiError("InvalidArgument", f"CloudFront could not assume the role {kinesis['RoleARN']}: check its trust policy")
            if not re.fullmatch(r"arn:aws[\w-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[\w.-]+", kinesis["StreamARN"]):
                raise ApiError("InvalidArgument", f"StreamARN '{kinesis['StreamARN']}' is not a Kinesis stream ARN")
        if "EndPoints" in params and len(params["EndPoints"]) != 1:
            raise ApiError("InvalidArgument", "exactly one endpoint (a Kinesis stream) is supported")

    def _find_realtime(self, params: dict[str, Any]) -> dict[str, Any]:
        name, arn = params.get("Name"), params.get("ARN")
        if not name and not arn:
            raise ApiError("InvalidArgument", "either Name or ARN is required")
        for config in self.realtime_log_configs.values():
            if (name and config["Name"] == name) or (arn and config["ARN"] == arn):
                if name and arn and (config["Name"] != name or config["ARN"] != arn):
                    raise ApiError("InvalidArgument", "Name and ARN name different configs")
                return config
        raise ApiError("NoSuchRealtimeLogConfig", f"no real-time log config {name or arn}")

    def op_CreateRealtimeLogConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        self._check_realtime_fields(p)
        if p["Name"] in self.realtime_log_configs:
            raise ApiError("RealtimeLogConfigAlreadyExists", f"real-time log config {p['Name']} already exists")
        if len(self.realtime_log_configs) >= MAX_REALTIME_LOG_CONFIGS:
            raise ApiError("TooManyRealtimeLogConfigs", f"at most {MAX_REALTIME_LOG_CONFIGS} per account")
        config = {
            "ARN": f"arn:aws:cloudfront::{ACCOUNT}:realtime-log-config/{p['Name']}",
            "Name": p["Name"],
            "SamplingRate": p["SamplingRate"],
            "EndPoints": p["EndPoints"],
            "Fields": p["Fields"],
        }
        self.realtime_log_configs[p["Name"]] = config
        return {"RealtimeLogConfig": config}

    def op_GetRealtimeLogConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"RealtimeLogConfig": self._find_realtime(p)}

    def op_UpdateRealtimeLogConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        self._check_realtime_fields(p)
        config = self._find_realtime(p)
        for key in ("EndPoints", "Fields", "SamplingRate"):
            if key in p:
                config[key] = p[key]
        return {"RealtimeLogConfig": config}

    def op_DeleteRealtimeLogConfig(self, p: dict[str, Any]) -> dict[str, Any]:
        config = self._find_realtime(p)
        if self._in_use("realtime_log_config_arn", config["ARN"]):
            raise ApiError("RealtimeLogConfigInUse", f"{config['Name']} is attached to a distribution")
        del self.realtime_log_configs[config["Name"]]
        return {}

    def op_ListRealtimeLogConfigs(self, p: dict[str, Any]) -> dict[str, Any]:
        items, next_marker, max_items = _page(sorted(self.realtime_log_configs.values(), key=lambda c: c["Name"]), p)
        page = {"MaxItems": max_items, "Items": items, "IsTruncated": next_marker is not None, "Marker": p.get("Marker", "")}
        if next_marker is not None:
            page["NextMarker"] = next_marker
        return {"RealtimeLogConfigs": page}

    # ------------------------------------------------------------ policies (three kinds, one shape)

    def _policy(self, kind: str, policy_id: str) -> dict[str, Any]:
        policy = self.policies[kind].get(policy_id)
        if policy is None:
            raise ApiError(f"NoSuch{kind}", f"no {kind} with id {policy_id}")
        return policy

    def _check_policy(self, kind: str, config: dict[str, Any], own_id: str | None) -> None:
        for other_id, other in self.policies[kind].items():
            if other_id != own_id and other["Config"]["Name"] == config["Name"]:
                raise ApiError(f"{kind}AlreadyExists", f"a {kind} named {config['Name']} exists")
        if kind == "CachePolicy":
            low = config["MinTTL"]
            default = config.get("DefaultTTL", max(low, 86400))
            high = config.get("MaxTTL", max(default, 31536000))
            if not low <= default <= high:
                raise ApiError("InvalidArgument", f"TTLs must satisfy MinTTL {low} <= DefaultTTL {default} <= MaxTTL {high}")
            params = config.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
            headers = (params.get("HeadersConfig") or {}).get("Headers") or {}
            if len(headers.get("Items") or []) > 10:
                raise ApiError("TooManyHeadersInCachePolicy", "a cache policy keys on at most 10 headers")
            _check_key_list(params.get("CookiesConfig") or {}, "Cookie", "Cookies", "TooManyCookiesInCachePolicy")
            _check_key_list(params.get("QueryStringsConfig") or {}, "QueryString", "QueryStrings", "TooManyQueryStringsInCachePolicy")
        if kind == "ResponseHeadersPolicy":
            _check_response_headers_policy(config)

    def _create_policy(self, kind: str, config: dict[str, Any]) -> dict[str, Any]:
        self._check_policy(kind, config, None)
        if sum(1 for p in self.policies[kind].values() if p["Type"] == "custom") >= MAX_CUSTOM_POLICIES:
            raise ApiError(f"TooMany{kind.replace('Policy', 'Policies')}", f"at most {MAX_CUSTOM_POLICIES} custom policies")
        policy_id = str(uuid.uuid4())
        policy = {"Id": policy_id, "Type": "custom", "Config": config, "ETag": _etag(), "LastModifiedTime": _now()}
        self.policies[kind][policy_id] = policy
        return {kind: _policy_view(kind, policy), "ETag": policy["ETag"], "Location": f"https://cloudfront.amazonaws.com/{API}/{_kebab(kind)}/{policy_id}"}

    def _update_policy(self, kind: str, p: dict[str, Any]) -> dict[str, Any]:
        policy = self._policy(kind, p["Id"])
        if policy["Type"] == "managed":
            raise ApiError("IllegalUpdate", "managed policies cannot be changed")
        _check_if_match(p.get("IfMatch"), policy["ETag"])
        config = p[f"{kind}Config"]
        self._check_policy(kind, config, p["Id"])
        policy.update(Config=config, ETag=_etag(), LastModifiedTime=_now())
        return {kind: _policy_view(kind, policy), "ETag": policy["ETag"]}

    def _delete_policy(self, kind: str, p: dict[str, Any], attribute: str) -> dict[str, Any]:
        policy = self._policy(kind, p["Id"])
        if policy["Type"] == "managed":
            raise ApiError("IllegalDelete", "managed policies cannot be deleted")
        _check_if_match(p.get("IfMatch"), policy["ETag"])
        if self._in_use(attribute, p["Id"]):
            raise ApiError(f"{kind}InUse", f"{kind} {p['Id']} is attached to a distribution")
        del self.policies[kind][p["Id"]]
        return {}

    def _list_policies(self, kind: str, p: dict[str, Any]) -> dict[str, Any]:
        wanted = p.get("Type")
        if wanted not in (None, "", "managed", "custom"):
            raise ApiError("InvalidArgument", f"Type '{wanted}' must be managed or custom")
        chosen = [x for x in self.policies[kind].values() if not wanted or x["Type"] == wanted]
        items, next_marker, max_items = _page(sorted(chosen, key=lambda x: x["Id"]), p, key="Id")
        page: dict[str, Any] = {
            "MaxItems": max_items,
            "Quantity": len(items),
            "Items": [{"Type": x["Type"], kind: _policy_view(kind, x)} for x in items],
        }
        if next_marker is not None:
            page["NextMarker"] = next_marker
        return {f"{kind}List": page}

    def op_CreateCachePolicy(self, p):
        return self._create_policy("CachePolicy", p["CachePolicyConfig"])

    def op_GetCachePolicy(self, p):
        policy = self._policy("CachePolicy", p["Id"])
        return {"CachePolicy": _policy_view("CachePolicy", policy), "ETag": policy["ETag"]}

    def op_GetCachePolicyConfig(self, p):
        policy = self._policy("CachePolicy", p["Id"])
        return {"CachePolicyConfig": policy["Config"], "ETag": policy["ETag"]}

    def op_UpdateCachePolicy(self, p):
        return self._update_policy("CachePolicy", p)

    def op_DeleteCachePolicy(self, p):
        return self._delete_policy("CachePolicy", p, "cache_policy_id")

    def op_ListCachePolicies(self, p):
        return self._list_policies("CachePolicy", p)

    def op_CreateOriginRequestPolicy(self, p):
        return self._create_policy("OriginRequestPolicy", p["OriginRequestPolicyConfig"])

    def op_GetOriginRequestPolicy(self, p):
        policy = self._policy("OriginRequestPolicy", p["Id"])
        return {"OriginRequestPolicy": _policy_view("OriginRequestPolicy", policy), "ETag": policy["ETag"]}

    def op_GetOriginRequestPolicyConfig(self, p):
        policy = self._policy("OriginRequestPolicy", p["Id"])
        return {"OriginRequestPolicyConfig": policy["Config"], "ETag": policy["ETag"]}

    def op_UpdateOriginRequestPolicy(self, p):
        return self._update_policy("OriginRequestPolicy", p)

    def op_DeleteOriginRequestPolicy(self, p):
        return self._delete_policy("OriginRequestPolicy", p, "origin_request_policy_id")

    def op_ListOriginRequestPolicies(self, p):
        return self._list_policies("OriginRequestPolicy", p)

    def op_CreateResponseHeadersPolicy(self, p):
        return self._create_policy("ResponseHeadersPolicy", p["ResponseHeadersPolicyConfig"])

    def op_GetResponseHeadersPolicy(self, p):
        policy = self._policy("ResponseHeadersPolicy", p["Id"])
        return {"ResponseHeadersPolicy": _policy_view("ResponseHeadersPolicy", policy), "ETag": policy["ETag"]}

    def op_GetResponseHeadersPolicyConfig(self, p):
        policy = self._policy("ResponseHeadersPolicy", p["Id"])
        return {"ResponseHeadersPolicyConfig": policy["Config"], "ETag": policy["ETag"]}

    def op_UpdateResponseHeadersPolicy(self, p):
        return self._update_policy("ResponseHeadersPolicy", p)

    def op_DeleteResponseHeadersPolicy(self, p):
        return self._delete_policy("ResponseHeadersPolicy", p, "response_headers_policy_id")

    def op_ListResponseHeadersPolicies(self, p):
        return self._list_policies("ResponseHeadersPolicy", p)

    # ------------------------------------------------------------ CloudFront Functions

    def _function(self, name: str) -> dict[str, Any]:
        function = self.functions.get(name)
        if function is None:
            raise ApiError("NoSuchFunctionExists", f"no function named {name}")
        return function

    def _stage(self, function: dict[str, Any], stage: str | None) -> dict[str, Any]:
        chosen = function.get(stage or "DEVELOPMENT")
        if chosen is None:
            raise ApiError("NoSuchFunctionExists", f"function {function['Name']} has no {stage} stage")
        return chosen

    def _summary(self, function: dict[str, Any], stage: str) -> dict[str, Any]:
        version = function[stage]
        if stage == "DEVELOPMENT":
            status = "UNPUBLISHED" if version["Unpublished"] else "UNASSOCIATED"
        else:
            status = "DEPLOYED" if self._function_in_use(function["ARN"]) else "UNASSOCIATED"
        return {
            "Name": function["Name"],
            "Status": status,
            "FunctionConfig": version["Config"],
            "FunctionMetadata": {
                "FunctionARN": function["ARN"],
                "Stage": stage,
                "CreatedTime": function["CreatedTime"],
                "LastModifiedTime": version["LastModifiedTime"],
            },
        }

    def op_CreateFunction(self, p):
        if p["Name"] in self.functions:
            raise ApiError("FunctionAlreadyExists", f"function {p['Name']} already exists")
        if len(self.functions) >= MAX_FUNCTIONS:
            raise ApiError("TooManyFunctions", f"at most {MAX_FUNCTIONS} functions per account")
        _check_function_code(p["FunctionCode"])
        now = _now()
        function = {
            "Name": p["Name"],
            "ARN": f"arn:aws:cloudfront::{ACCOUNT}:function/{p['Name']}",
            "CreatedTime": now,
            "DEVELOPMENT": {"Config": p["FunctionConfig"], "Code": p["FunctionCode"], "ETag": _etag(), "LastModifiedTime": now, "Unpublished": True},
            "LIVE": None,
        }
        self.functions[p["Name"]] = function
        return {
            "FunctionSummary": self._summary(function, "DEVELOPMENT"),
            "ETag": function["DEVELOPMENT"]["ETag"],
            "Location": f"https://cloudfront.amazonaws.com/{API}/function/{p['Name']}",
        }

    def op_DescribeFunction(self, p):
        function = self._function(p["Name"])
        stage = p.get("Stage") or "DEVELOPMENT"
        version = self._stage(function, stage)
        return {"FunctionSummary": self._summary(function, stage), "ETag": version["ETag"]}

    def op_GetFunction(self, p):
        function = self._function(p["Name"])
        version = self._stage(function, p.get("Stage"))
        return {"FunctionCode": version["Code"], "ETag": version["ETag"], "ContentType": "application/octet-stream"}

    def op_UpdateFunction(self, p):
        function = self._function(p["Name"])
        development = function["DEVELOPMENT"]
        _check_if_match(p.get("IfMatch"), development["ETag"])
        _check_function_code(p["FunctionCode"])
        development.update(Config=p["FunctionConfig"], Code=p["FunctionCode"], ETag=_etag(), LastModifiedTime=_now(), Unpublished=True)
        return {"FunctionSummary": self._summary(function, "DEVELOPMENT"), "ETag": development["ETag"]}

    def op_PublishFunction(self, p):
        function = self._function(p["Name"])
        development = function["DEVELOPMENT"]
        _check_if_match(p.get("IfMatch"), development["ETag"])
        function["LIVE"] = {"Config": development["Config"], "Code": development["Code"], "ETag": _etag(), "LastModifiedTime": _now()}
        development["Unpublished"] = False
        return {"FunctionSummary": self._summary(function, "LIVE")}

    def op_DeleteFunction(self, p):
        function = self._function(p["Name"])
        etags = {function["DEVELOPMENT"]["ETag"]} | ({function["LIVE"]["ETag"]} if function["LIVE"] else set())
        if not p.get("IfMatch"):
            raise ApiError("InvalidIfMatchVersion", "the If-Match header is required")
        if p["IfMatch"] not in etags:
            raise ApiError("PreconditionFailed", "If-Match does not match the function's current ETag")
        if self._function_in_use(function["ARN"]):
            raise ApiError("FunctionInUse", f"function {p['Name']} is associated with a distribution")
        del self.functions[p["Name"]]
        return {}

    def op_ListFunctions(self, p):
        stage = p.get("Stage")
        chosen = [f for f in sorted(self.functions.values(), key=lambda f: f["Name"]) if not stage or f.get(stage)]
        items, next_marker, max_items = _page(chosen, p, key="Name")
        page: dict[str, Any] = {
            "MaxItems": max_items,
            "Quantity": len(items),
            "Items": [self._summary(f, stage or "DEVELOPMENT") for f in items],
        }
        if next_marker is not None:
            page["NextMarker"] = next_marker
        return {"FunctionList": page}


def _check_if_match(given: str | None, current: str) -> None:
    if not given:
        raise ApiError("InvalidIfMatchVersion", "the If-Match header is required")
    if given != current:
        raise ApiError("PreconditionFailed", f"If-Match {given} does not match the current ETag {current}")


def _check_function_code(code: bytes) -> None:
    # CloudFront Functions: the code is at most 10 KB (developer guide, "Quotas on functions").
    if len(code) > 10 * 1024:
        raise ApiError("FunctionSizeLimitExceeded", f"function code is {len(code)} bytes; the limit is 10240")


def _kebab(kind: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"-\1", kind).lower()


def _policy_view(kind: str, policy: dict[str, Any]) -> dict[str, Any]:
    return {"Id": policy["Id"], "LastModifiedTime": policy["LastModifiedTime"], f"{kind}Config": policy["Config"]}


def _page(items: list[dict[str, Any]], p: dict[str, Any], key: str = "Name"):
    try:
        max_items = int(p.get("MaxItems") or 100)
    except ValueError as err:
        raise ApiError("InvalidArgument", f"MaxItems '{p.get('MaxItems')}' is not a number") from err
    marker = p.get("Marker")
    if marker:
        items = [i for i in items if i[key] > marker]
    page = items[:max_items]
    next_marker = page[-1][key] if len(items) > max_items else None
    return page, next_marker, max_items
