"""
Defaults of batch/v1 (pkg/apis/batch/v1/defaults.go): Job completions,
parallelism, backoffLimit, completionMode, suspend, podReplacementPolicy,
manualSelector, a Job's labels from its template; CronJob policies and
history limits. The Job's generated selector and labels are a create-time
rule of the job strategy (L{generate_job_selector}), not a default.
"""

from __future__ import annotations

from typing import Callable, Dict

from . import _podspec as podspec
from ._util import JSON, child, default, default_str, items, spec_of

__all__ = ["DEFAULTERS", "generate_job_selector", "job_spec"]

MAX_INT32 = 2 ** 31 - 1

LEGACY_JOB_NAME_LABEL = "job-name"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"


def job_spec(spec: JSON) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    default(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    default(spec, "completionMode", "NonIndexed")
    default(spec, "suspend", False)
    failure_policy = child(spec, "podFailurePolicy")
    for rule in items(failure_policy, "rules"):
        for pattern in items(rule, "onPodConditions"):
            default_str(pattern, "status", "True")
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = (
            "Failed" if failure_policy is not None else "TerminatingOrFailed")
    default(spec, "manualSelector", False)
    podspec.pod_template_spec(child(spec, "template", create=True))  # type: ignore[arg-type]


def job(obj: JSON) -> None:
    spec = spec_of(obj)
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    meta = child(obj, "metadata", create=True)
    if isinstance(labels, dict) and not meta.get("labels"):  # type: ignore[union-attr]
        meta["labels"] = dict(labels)  # type: ignore[index]
    job_spec(spec)


def cron_job(obj: JSON) -> None:
    spec = spec_of(obj)
    default_str(spec, "concurrencyPolicy", "Allow")
    default(spec, "suspend", False)
    default(spec, "successfulJobsHistoryLimit", 3)
    default(spec, "failedJobsHistoryLimit", 1)
    template = child(spec, "jobTemplate", create=True)
    podspec.template_metadata(template)  # type: ignore[arg-type]
    # A JobTemplateSpec's job spec gets only the pod template's defaults.
    job_template_spec = spec_of(template)  # type: ignore[arg-type]
    podspec.pod_template_spec(child(job_template_spec, "template", create=True))  # type: ignore[arg-type]


def generate_job_selector(obj: JSON) -> None:
    """
    The job strategy's create rule: unless C{manualSelector}, label the pod
    template with the job's name and uid and select on the uid.
    """
    spec = spec_of(obj)
    if spec.get("manualSelector") is True:
        return
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    uid = meta.get("uid") or ""
    template = child(spec, "template", create=True)
    tmeta = child(template, "metadata", create=True)  # type: ignore[arg-type]
    labels = child(tmeta, "labels", create=True)  # type: ignore[arg-type]
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, name)  # type: ignore[union-attr]
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, uid)  # type: ignore[union-attr]
    selector = child(spec, "selector", create=True)
    match = child(selector, "matchLabels", create=True)  # type: ignore[arg-type]
    match.setdefault(CONTROLLER_UID_LABEL, uid)  # type: ignore[union-attr]


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "Job": job,
    "CronJob": cron_job,
}
