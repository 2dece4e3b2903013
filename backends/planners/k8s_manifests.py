"""Kubernetes objects gpuwiz applies, generated as data (dicts) and written as JSON files `kubectl apply -f` reads.

Pure functions: the plan shows each manifest in full (as a file edit) before anything is applied.
"""

from __future__ import annotations

import json
from typing import Any

GPU = "nvidia.com/gpu"
TEST_JOB = "gpuwiz-nvidia-smi"
TEST_NAMESPACE = "default"
MANIFEST_DIR = "/var/lib/gpuwiz/k8s"
GPUWIZ_LABEL = "app.kubernetes.io/managed-by"


def runtime_class(handler: str = "nvidia") -> dict[str, Any]:
    return {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": handler, "labels": {GPUWIZ_LABEL: "gpuwiz"}},
        "handler": handler,
    }


def gpu_test_job(
    node: str, image: str, *, runtime_class_name: str | None = "nvidia", gpus: int = 1, tolerate_gpu_taint: bool = False
) -> dict[str, Any]:
    """A Job that runs nvidia-smi once on `node` with `gpus` GPUs, then is deleted by gpuwiz."""
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "nodeSelector": {"kubernetes.io/hostname": node},
        "containers": [
            {
                "name": "nvidia-smi",
                "image": image,
                "command": ["nvidia-smi"],
                "resources": {"limits": {GPU: gpus}},
            }
        ],
    }
    if runtime_class_name:
        spec["runtimeClassName"] = runtime_class_name
    if tolerate_gpu_taint:
        spec["tolerations"] = [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": TEST_JOB, "namespace": TEST_NAMESPACE, "labels": {GPUWIZ_LABEL: "gpuwiz"}},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 600,  # gone by itself should gpuwiz be interrupted before it deletes it
            "template": {"metadata": {"labels": {GPUWIZ_LABEL: "gpuwiz"}}, "spec": spec},
        },
    }


def render(manifest: dict[str, Any]) -> str:
    """The JSON text written to disk: kubectl reads JSON as readily as YAML, and no YAML library is needed."""
    return json.dumps(manifest, indent=2) + "\n"


def manifest_path(name: str) -> str:
    return f"{MANIFEST_DIR}/{name}.json"
