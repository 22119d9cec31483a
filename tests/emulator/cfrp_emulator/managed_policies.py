"""AWS's managed CloudFront policies, under the ids the CloudFront Developer Guide publishes
("Use managed cache policies", "... origin request policies", "... response headers policies").
The deployer references these ids rather than creating copies, so the emulator must know them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

_EPOCH = dt.datetime(2020, 5, 31, tzinfo=dt.timezone.utc)


def _none(kind: str) -> dict[str, Any]:
    return {f"{kind}Behavior": "none"}


def _cache(name: str, min_ttl: int, default_ttl: int, max_ttl: int, compressed: bool, comment: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Comment": comment,
        "MinTTL": min_ttl,
        "DefaultTTL": default_ttl,
        "MaxTTL": max_ttl,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": compressed,
            "EnableAcceptEncodingBrotli": compressed,
            "HeadersConfig": _none("Header"),
            "CookiesConfig": _none("Cookie"),
            "QueryStringsConfig": _none("QueryString"),
        },
    }


def _origin_request(name: str, headers: str, cookies: str, query: str, comment: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Comment": comment,
        "HeadersConfig": {"HeaderBehavior": headers},
        "CookiesConfig": {"CookieBehavior": cookies},
        "QueryStringsConfig": {"QueryStringBehavior": query},
    }


def _entry(policy_id: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"Id": policy_id, "Type": "managed", "Config": config, "ETag": "E23ZP02F085DFQ", "LastModifiedTime": _EPOCH}


_SECURITY_HEADERS = {
    "Name": "Managed-SecurityHeadersPolicy",
    "Comment": "Adds a set of security headers to every response",
    "SecurityHeadersConfig": {
        "XSSProtection": {"Override": False, "Protection": True, "ModeBlock": True},
        "FrameOptions": {"Override": False, "FrameOption": "SAMEORIGIN"},
        "ReferrerPolicy": {"Override": False, "ReferrerPolicy": "strict-origin-when-cross-origin"},
        "ContentTypeOptions": {"Override": True},
        "StrictTransportSecurity": {"Override": False, "IncludeSubdomains": False, "Preload": False, "AccessControlMaxAgeSec": 31536000},
    },
}

MANAGED: dict[str, dict[str, dict[str, Any]]] = {
    "CachePolicy": {
        pid: _entry(pid, cfg)
        for pid, cfg in [
            ("658327ea-f89d-4fab-a63d-7e88639e58f6", _cache("Managed-CachingOptimized", 1, 86400, 31536000, True, "Default policy when CF compression is enabled")),
            ("4135ea2d-6df8-44a3-9df3-4b5a84be39ad", _cache("Managed-CachingDisabled", 0, 0, 0, False, "Policy with caching disabled")),
            ("b2884449-e4de-46a7-ac36-70bc7f1ddd6d", _cache("Managed-CachingOptimizedForUncompressedObjects", 1, 86400, 31536000, False, "Default policy when compression is disabled")),
            ("83da9c7e-98b4-4e11-a168-04f0df8e2c65", _cache("Managed-UseOriginCacheControlHeaders", 0, 0, 31536000, True, "Policy for origins that return Cache-Control headers")),
        ]
    },
    "OriginRequestPolicy": {
        pid: _entry(pid, cfg)
        for pid, cfg in [
            ("216adef6-5c7f-47e4-b989-5492eafa07d3", _origin_request("Managed-AllViewer", "allViewer", "all", "all", "Policy to forward all parameters in viewer requests")),
            ("b689b0a8-53d0-40ab-baf2-68738e2966ac", _origin_request("Managed-AllViewerExceptHostHeader", "allViewer", "all", "all", "Policy to forward all parameters in viewer requests except for the Host header")),
            ("acba4595-bd28-49b8-b9fe-13317c0390fa", _origin_request("Managed-UserAgentRefererHeaders", "whitelist", "none", "none", "Policy to forward user-agent and referer headers to origin")),
        ]
    },
    "ResponseHeadersPolicy": {
        "67f7725c-6f97-4210-82d7-5512b31e9d03": _entry("67f7725c-6f97-4210-82d7-5512b31e9d03", _SECURITY_HEADERS),
    },
}

# AllViewerExceptHostHeader forwards every viewer header but Host; the API models that as
# allExcept with the excluded header listed.
MANAGED["OriginRequestPolicy"]["b689b0a8-53d0-40ab-baf2-68738e2966ac"]["Config"]["HeadersConfig"] = {
    "HeaderBehavior": "allExcept",
    "Headers": {"Quantity": 1, "Items": ["host"]},
}
MANAGED["OriginRequestPolicy"]["acba4595-bd28-49b8-b9fe-13317c0390fa"]["Config"]["HeadersConfig"] = {
    "HeaderBehavior": "whitelist",
    "Headers": {"Quantity": 2, "Items": ["User-Agent", "Referer"]},
}
