"""Check the model-server manifests: the Kubernetes schema, then the rules a production rollout needs."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import yaml

MANIFEST = Path(__file__).parent / "kubernetes" / "model-server.yaml"
KUBERNETES_VERSION = "1.33"  # the cluster's minor version: its OpenAPI schema is the contract
GPU = "nvidia.com/gpu"
KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def load_manifests(path: Path = MANIFEST) -> dict[str, dict]:
    """The documents of a multi-document YAML file, by kind (one of each kind expected)."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return {doc["kind"]: doc for doc in documents}


def quantity(value: str | int | float) -> float:
    """Parse a Kubernetes quantity: "500m" CPU, "16Gi" memory, 1 GPU."""
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()
    return float(number) * _UNITS[unit]


def schema_problems(m: dict[str, dict]) -> list[str]:
    """Validate each document against the real Kubernetes schema; unknown fields are errors."""
    problems = []
    for kind, document in m.items():
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path) or "(document)"
            problems.append(f"{kind}: schema: {where}: {error.message}")
    return problems


def endpoint(probe: dict) -> dict:
    """What a probe calls, without its timing settings."""
    return {k: v for k, v in probe.items() if k in ("httpGet", "tcpSocket", "grpc", "exec")}


def prestop_seconds(c: dict) -> float | None:
    """How long the container's preStop hook keeps it serving, or None without a hook."""
    hook = c.get("lifecycle", {}).get("preStop")
    if hook is None:
        return None
    if "sleep" in hook:
        return float(hook["sleep"]["seconds"])
    command = hook.get("exec", {}).get("command", [])
    return float(command[1]) if len(command) == 2 and command[0] == "sleep" else 0.0


def check_container(c: dict, grace_s: float) -> list[str]:
    problems = []
    requests, limits = c.get("resources", {}).get("requests", {}), c.get("resources", {}).get("limits", {})
    if "cpu" not in requests:
        problems.append(f"{c['name']}: needs a cpu request (the scheduler packs by requests)")
    if "cpu" in limits:
        problems.append(f"{c['name']}: no cpu limit: CFS throttling stalls requests and inflates p99")
    if "memory" not in requests or "memory" not in limits:
        problems.append(f"{c['name']}: needs memory requests and limits")
    elif quantity(requests["memory"]) != quantity(limits["memory"]):
        problems.append(f"{c['name']}: memory limit must equal the request (no OOM kill on node pressure)")
    if GPU in requests and GPU not in limits:
        problems.append(f"{c['name']}: GPUs must be set in limits")
    elif GPU in limits and requests.get(GPU, limits[GPU]) != limits[GPU]:
        problems.append(f"{c['name']}: GPU request must equal the limit")
    for probe in ("readinessProbe", "livenessProbe"):
        if probe not in c:
            problems.append(f"{c['name']}: missing {probe}")
    if (
        "readinessProbe" in c
        and "livenessProbe" in c
        and endpoint(c["readinessProbe"]) == endpoint(c["livenessProbe"])
    ):
        problems.append(f"{c['name']}: readiness and liveness must probe distinct endpoints")
    drain_s = prestop_seconds(c)
    if not drain_s:
        problems.append(f"{c['name']}: needs a preStop sleep so load balancers stop sending before SIGTERM")
    elif drain_s >= grace_s:
        problems.append(f"{c['name']}: terminationGracePeriodSeconds must exceed the preStop sleep")
    if ":" not in c["image"].rsplit("/", 1)[-1] or c["image"].endswith(":latest"):
        problems.append(f"{c['name']}: pin the image tag")
    return problems


def check_manifests(m: dict[str, dict]) -> list[str]:
    """Every problem found; an empty list means the rollout is safe to apply."""
    missing = KINDS - m.keys()
    if missing:
        return [f"missing {kind}" for kind in sorted(missing)]
    problems = schema_problems(m)
    if problems:
        return problems
    deployment, service = m["Deployment"], m["Service"]
    hpa, pdb = m["HorizontalPodAutoscaler"], m["PodDisruptionBudget"]
    pod = deployment["spec"]["template"]
    labels, containers = pod["metadata"].get("labels", {}), pod["spec"]["containers"]
    grace_s = pod["spec"].get("terminationGracePeriodSeconds", 30)
    problems = [p for c in containers for p in check_container(c, grace_s)]
    wants_gpu = any(GPU in c.get("resources", {}).get("limits", {}) for c in containers)
    tolerated = {t.get("key") for t in pod["spec"].get("tolerations", [])}
    if wants_gpu and GPU not in tolerated:
        problems.append(f"Deployment: GPU pods need a toleration for the {GPU} taint")

    if "replicas" in deployment["spec"]:
        problems.append("Deployment: drop replicas: the HPA owns it, and every apply would reset the scale")
    strategy = deployment["spec"].get("strategy", {})
    rolling = strategy.get("rollingUpdate", {})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or not {"maxSurge", "maxUnavailable"} <= (
        rolling.keys()
    ):
        problems.append("Deployment: use a RollingUpdate with maxSurge and maxUnavailable")
    elif rolling["maxSurge"] in (0, "0%") and rolling["maxUnavailable"] in (0, "0%"):
        problems.append("Deployment: maxSurge and maxUnavailable cannot both be 0")
    if not deployment["spec"]["selector"]["matchLabels"].items() <= labels.items():
        problems.append("Deployment: selector does not match the pod labels")

    if not service["spec"]["selector"].items() <= labels.items():
        problems.append("Service: selector does not match the pod labels")
    port_names = {p.get("name") for c in containers for p in c.get("ports", [])}
    port_numbers = {p["containerPort"] for c in containers for p in c.get("ports", [])}
    for port in service["spec"]["ports"]:
        if port.get("targetPort", port["port"]) not in port_names | port_numbers:
            problems.append(f"Service: targetPort {port.get('targetPort')} is not a container port")

    spec = hpa["spec"]
    if hpa["apiVersion"] != "autoscaling/v2":
        problems.append("HPA: use autoscaling/v2")
    target = spec["scaleTargetRef"]
    if (target["kind"], target["name"]) != ("Deployment", deployment["metadata"]["name"]):
        problems.append("HPA: does not target the Deployment")
    if not 2 <= spec.get("minReplicas", 1) <= spec["maxReplicas"]:
        problems.append("HPA: needs 2 <= minReplicas <= maxReplicas (one pod is a single point of failure)")
    if not spec.get("metrics"):
        problems.append("HPA: no metrics to scale on")

    if not pdb["spec"].get("selector", {}).get("matchLabels", {}).items() <= labels.items():
        problems.append("PodDisruptionBudget: selector does not match the pod labels")
    if "minAvailable" in pdb["spec"] and quantity(pdb["spec"]["minAvailable"]) >= spec.get("minReplicas", 1):
        problems.append("PodDisruptionBudget: minAvailable >= minReplicas blocks every node drain")
    return problems


if __name__ == "__main__":
    found = check_manifests(load_manifests())
    print("\n".join(found) or "all checks passed")
