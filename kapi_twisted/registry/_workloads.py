"""
Validation of the apps/v1 workloads' selectors, the checks users meet most
(a missing selector, one that does not match the template's labels, a
changed selector), worded as kube-apiserver words them. The rest of the
pod-template validation needs defaulting first and comes with it.
"""

from __future__ import annotations

from typing import Any, Dict, List

from . import validation as v


def _matches_expression(expr: Dict[str, Any], labels: Dict[str, str]) -> bool:
    key = expr.get("key")
    op = expr.get("operator")
    values = expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector: Any, labels: Any) -> bool:
    """A metav1.LabelSelector against labels; a missing selector matches nothing."""
    if not isinstance(selector, dict):
        return False
    labels = labels if isinstance(labels, dict) else {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        if not isinstance(expr, dict) or not _matches_expression(expr, labels):
            return False
    return True


def _label_selector_errors(selector: Dict[str, Any], path: str) -> List[v.FieldError]:
    errs = v.validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or ()):
        at = f"{path}.matchExpressions[{i}]"
        if not isinstance(expr, dict):
            continue
        op = expr.get("operator")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.append(v.required(f"{at}.values",
                                       "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(v.forbidden(
                    f"{at}.values", "may not be specified when `operator` is 'Exists' or "
                    "'DoesNotExist'"))
        else:
            errs.append(v.invalid_value(f"{at}.operator", op or "", "not a valid selector operator"))
        for msg in v.is_qualified_name(expr.get("key") or ""):
            errs.append(v.invalid_value(f"{at}.key", expr.get("key") or "", msg))
    return errs


def validate_selector_and_template(obj: Dict[str, Any], kind_word: str,
                                   selector_required: bool = True) -> List[v.FieldError]:
    """spec.selector present, non-empty, valid, and matching spec.template.metadata.labels."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    errs: List[v.FieldError] = []
    selector = spec.get("selector")
    if selector is None:
        if selector_required:
            errs.append(v.required("spec.selector"))
    elif isinstance(selector, dict):
        errs.extend(_label_selector_errors(selector, "spec.selector"))
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            errs.append(v.invalid_value("spec.selector", selector,
                                        f"empty selector is invalid for {kind_word}"))
    template = spec.get("template")
    labels = ((template or {}).get("metadata") or {}).get("labels") if isinstance(
        template, dict) else None
    if not selector_matches(selector, labels):
        errs.append(v.invalid_value("spec.template.metadata.labels", labels,
                                    "`selector` does not match template `labels`"))
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas < 0:
        errs.append(v.invalid_value("spec.replicas", replicas,
                                    "must be greater than or equal to 0"))
    return errs


def selector_unchanged(new: Dict[str, Any], old: Dict[str, Any]) -> List[v.FieldError]:
    """apps/v1 selectors are immutable."""
    new_sel = (new.get("spec") or {}).get("selector")
    old_sel = (old.get("spec") or {}).get("selector")
    if new_sel != old_sel:
        return [v.invalid_value("spec.selector", new_sel, "field is immutable")]
    return []
