"""
Defaults of admissionregistration.k8s.io/v1: webhook failure and match
policies, selectors, timeouts, rule scope and service port; admission
policies' failure policy and match resources.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

from ._util import JSON, child, default, items, spec_of

__all__ = ["DEFAULTERS"]


def _rule_scope(rules_parent: Optional[JSON], key: str = "rules") -> None:
    for rule in items(rules_parent, key):
        default(rule, "scope", "*")


def _webhook(hook: JSON, mutating: bool) -> None:
    default(hook, "failurePolicy", "Fail")
    default(hook, "matchPolicy", "Equivalent")
    default(hook, "namespaceSelector", {})
    default(hook, "objectSelector", {})
    default(hook, "timeoutSeconds", 10)
    if mutating:
        default(hook, "reinvocationPolicy", "Never")
    _rule_scope(hook)
    config = child(hook, "clientConfig")
    service = child(config, "service") if config is not None else None
    if service is not None:
        default(service, "port", 443)


def validating_webhooks(obj: JSON) -> None:
    for hook in items(obj, "webhooks"):
        _webhook(hook, mutating=False)


def mutating_webhooks(obj: JSON) -> None:
    for hook in items(obj, "webhooks"):
        _webhook(hook, mutating=True)


def _match_resources(match: Optional[JSON]) -> None:
    if match is None:
        return
    default(match, "matchPolicy", "Equivalent")
    default(match, "namespaceSelector", {})
    default(match, "objectSelector", {})
    _rule_scope(match, "resourceRules")
    _rule_scope(match, "excludeResourceRules")


def admission_policy(obj: JSON) -> None:
    spec = spec_of(obj)
    default(spec, "failurePolicy", "Fail")
    _match_resources(child(spec, "matchConstraints"))


def admission_policy_binding(obj: JSON) -> None:
    _match_resources(child(spec_of(obj), "matchResources"))


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "ValidatingWebhookConfiguration": validating_webhooks,
    "MutatingWebhookConfiguration": mutating_webhooks,
    "ValidatingAdmissionPolicy": admission_policy,
    "ValidatingAdmissionPolicyBinding": admission_policy_binding,
    "MutatingAdmissionPolicy": admission_policy,
    "MutatingAdmissionPolicyBinding": admission_policy_binding,
}
