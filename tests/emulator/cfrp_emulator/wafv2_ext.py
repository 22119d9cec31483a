"""WAFv2 as AWS answers it where moto 5.2 differs (the stack's web ACL and IP sets depend on it).

| what | moto 5.2 | AWS (and here) |
| --- | --- | --- |
| scope CLOUDFRONT outside us-east-1 | served from the global backend | refused: WAFInvalidParameterException "Error reason: The scope is not valid., field: SCOPE_VALUE, parameter: CLOUDFRONT" (answers quoted in aws-samples/aws-waf-rate-based-rule-customized-block-period#1, aws-solutions/aws-waf-security-automations#187) |
| UpdateWebACL with `Rules: []` | keeps the old rules (an empty list reads as "not given") | the ACL has no rules: UpdateWebACL replaces the whole ACL (API reference, UpdateWebACL: "this call replaces the existing configuration") |
| DeleteWebACL of an ACL a CloudFront distribution carries as WebACLId | deleted | WAFAssociatedItemException (API reference, DeleteWebACL: disassociate first; for CloudFront, remove the id from the distribution) |
| DeleteIPSet of a set a web ACL's rule references | deleted | WAFAssociatedItemException (API reference, DeleteIPSet errors) |
| CreateIPSet with a name in use in the scope | creates a second set of that name | WAFDuplicateItemException |
| CreateWebACL with a name in use | code `WafV2DuplicateItem` | `WAFDuplicateItemException` (API reference, errors of CreateWebACL) |
| a rule's IP set reference to a set that does not exist | accepted | WAFNonexistentItemException |
| CreateIPSet/UpdateIPSet addresses that are not a network in CIDR notation (a bare address, /0, host bits set as in `203.0.113.9/24`, the other family than `IPAddressVersion`) | stored | WAFInvalidParameterException "Error reason: The parameter contains formatting that is not valid., field: IP_ADDRESS, parameter: ADDRESS" (the answer quoted in aws/aws-cdk#20003 for `195.178.188.66/29`; API reference, IPSet.Addresses: CIDR notation, every range but /0) |
| an IP set's LockToken | 6 hex digits, which the model's own pattern for LockToken refuses when sent back | a UUID, as the model's pattern `^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$` has it |
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from typing import Any

_applied = False

ASSOCIATED = (
    "AWS WAF couldn’t perform the operation because your resource is being used by another "
    "resource or it’s associated with another resource."
)


def _error(code: str, message: str, **extra: str) -> tuple[int, dict[str, str], str]:
    body = {"__type": code, "message": message, **extra}
    return 400, {"Content-Type": "application/x-amz-json-1.1", "status": "400", "x-amzn-ErrorType": code}, json.dumps(body)


def _bad_address(body: dict[str, Any]) -> str | None:
    """The first of an IP set request's addresses WAF refuses, if any.

    UpdateIPSet carries no IPAddressVersion: the set's own is not looked up here, so only the
    request's form (a network in CIDR notation, not /0) is checked for it.
    """
    version = body.get("IPAddressVersion")
    for address in body.get("Addresses") or []:
        text = str(address)
        if "/" not in text:
            return text
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError:
            return text
        if net.prefixlen == 0:
            return text
        if version in ("IPV4", "IPV6") and net.version != (4 if version == "IPV4" else 6):
            return text
    return None


def _references(statement: Any) -> list[str]:
    """The IP set ARNs a statement (nested ones included) references."""
    if not isinstance(statement, dict):
        return []
    found = []
    reference = statement.get("IPSetReferenceStatement")
    if isinstance(reference, dict) and reference.get("ARN"):
        found.append(reference["ARN"])
    for key in ("OrStatement", "AndStatement"):
        for inner in (statement.get(key) or {}).get("Statements") or []:
            found.extend(_references(inner))
    inner = (statement.get("NotStatement") or {}).get("Statement")
    found.extend(_references(inner))
    rate = statement.get("RateBasedStatement") or {}
    found.extend(_references(rate.get("ScopeDownStatement")))
    return found


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    from moto.cloudfront.models import cloudfront_backends
    from moto.wafv2 import exceptions, models
    from moto.wafv2.responses import WAFV2Response

    exceptions.WAFV2DuplicateItemException.__init__ = lambda self: exceptions.WAFv2ClientError.__init__(  # type: ignore[method-assign]
        self,
        "WAFDuplicateItemException",
        "AWS WAF couldn’t perform the operation because some resource in your request is a duplicate of an existing one.",
    )

    ip_set_init = models.FakeIPSet.__init__
    ip_set_update = models.FakeIPSet.update

    def ip_set_init_uuid(self: Any, *args: Any, **kwargs: Any) -> None:
        ip_set_init(self, *args, **kwargs)
        self.lock_token = str(uuid.uuid4())

    def ip_set_update_uuid(self: Any, *args: Any, **kwargs: Any) -> None:
        ip_set_update(self, *args, **kwargs)
        self.lock_token = str(uuid.uuid4())

    models.FakeIPSet.__init__ = ip_set_init_uuid
    models.FakeIPSet.update = ip_set_update_uuid

    call_action = WAFV2Response.call_action

    def call_action_checked(self: Any) -> Any:
        try:
            body = json.loads(self.body or "{}")
        except (TypeError, ValueError):
            body = {}
        if isinstance(body, dict) and body.get("Scope") == "CLOUDFRONT" and self.region != "us-east-1":
            return _error(
                "WAFInvalidParameterException",
                "Error reason: The scope is not valid., field: SCOPE_VALUE, parameter: CLOUDFRONT",
                Field="SCOPE_VALUE",
                Parameter="CLOUDFRONT",
                Reason="The scope is not valid.",
            )
        if isinstance(body, dict) and self._get_action() in ("CreateIPSet", "UpdateIPSet"):
            bad = _bad_address(body)
            if bad is not None:
                return _error(
                    "WAFInvalidParameterException",
                    f"Error reason: The parameter contains formatting that is not valid., field: IP_ADDRESS, parameter: {bad}",
                    Field="IP_ADDRESS",
                    Parameter=bad,
                    Reason="The parameter contains formatting that is not valid.",
                )
        if isinstance(body, dict) and self._get_action() in ("CreateWebACL", "UpdateWebACL"):
            backend = models.wafv2_backends[self.current_account][models.GLOBAL_REGION if body.get("Scope") == "CLOUDFRONT" else self.region]
            for rule in body.get("Rules") or []:
                for arn in _references(rule.get("Statement")):
                    if arn not in backend.ip_sets:
                        return _error(
                            "WAFNonexistentItemException",
                            "AWS WAF couldn’t perform the operation because your resource doesn’t exist.",
                        )
        return call_action(self)

    WAFV2Response.call_action = call_action_checked

    update_web_acl = models.WAFV2Backend.update_web_acl

    def update_web_acl_replacing(self: Any, name: str, _id: str, default_action: Any, rules: Any, *args: Any, **kwargs: Any) -> str:
        token = update_web_acl(self, name, _id, default_action, rules, *args, **kwargs)
        if rules is not None and not rules:
            self.get_web_acl(None, name, _id).rules = []
        return token

    models.WAFV2Backend.update_web_acl = update_web_acl_replacing

    delete_web_acl = models.WAFV2Backend.delete_web_acl

    def delete_web_acl_checked(self: Any, name: str, scope: str, _id: str, lock_token: str) -> None:
        acl = next((a for a in self.wacls.values() if a.name == name and a.id == _id), None)
        if acl is not None and acl.lock_token == lock_token and scope == "CLOUDFRONT":
            for backend in cloudfront_backends[self.account_id].values():
                for dist in backend.distributions.values():
                    if getattr(dist.distribution_config, "WebACLId", "") == acl.arn:
                        raise exceptions.WAFv2ClientError("WAFAssociatedItemException", ASSOCIATED)
        delete_web_acl(self, name, scope, _id, lock_token)

    models.WAFV2Backend.delete_web_acl = delete_web_acl_checked

    delete_ip_set = models.WAFV2Backend.delete_ip_set

    def delete_ip_set_checked(self: Any, name: str, scope: str, _id: str, lock_token: str) -> None:
        ip_set = next((s for s in self.ip_sets.values() if s.name == name and s.ip_set_id == _id), None)
        if ip_set is not None:
            for acl in self.wacls.values():
                if any(ip_set.arn in _references(rule.statement) for rule in acl.rules):
                    raise exceptions.WAFv2ClientError("WAFAssociatedItemException", ASSOCIATED)
        delete_ip_set(self, name, scope, _id, lock_token)

    models.WAFV2Backend.delete_ip_set = delete_ip_set_checked

    create_ip_set = models.WAFV2Backend.create_ip_set

    def create_ip_set_unique(self: Any, name: str, scope: str, *args: Any, **kwargs: Any) -> Any:
        if any(s.name == name and s.scope == scope for s in self.ip_sets.values()):
            raise exceptions.WAFV2DuplicateItemException()
        return create_ip_set(self, name, scope, *args, **kwargs)

    models.WAFV2Backend.create_ip_set = create_ip_set_unique
