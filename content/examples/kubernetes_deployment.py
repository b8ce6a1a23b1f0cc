"""Load the model-server manifests and check the properties a production rollout depends on."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

MANIFEST = Path(__file__).parent / "kubernetes" / "model-server.yaml"
GPU = "nvidia.com/gpu"
_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def load_manifests(path: Path = MANIFEST) -> dict[str, dict]:
    """The documents of a multi-document YAML file, by kind (one of each kind expected)."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return {doc["kind"]: doc for doc in documents}


def quantity(value: str | int | float) -> float:
    """Parse a Kubernetes quantity: "500m" CPU, "16Gi" memory, 1 GPU."""
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()
    return float(number) * _UNITS[unit]


def endpoint(probe: dict) -> dict:
    """What a probe calls, without its timing settings."""
    return {k: v for k, v in probe.items() if k in ("httpGet", "tcpSocket", "grpc", "exec")}


def check_container(c: dict) -> list[str]:
    problems = []
    requests, limits = c.get("resources", {}).get("requests", {}), c.get("resources", {}).get("limits", {})
    for resource in ("cpu", "memory"):
        if resource not in requests or resource not in limits:
            problems.append(f"{c['name']}: needs {resource} requests and limits")
        elif quantity(requests[resource]) > quantity(limits[resource]):
            problems.append(f"{c['name']}: {resource} request exceeds its limit")
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
    if ":" not in c["image"].rsplit("/", 1)[-1] or c["image"].endswith(":latest"):
        problems.append(f"{c['name']}: pin the image tag")
    return problems


def check_manifests(m: dict[str, dict]) -> list[str]:
    """Every problem found; an empty list means the rollout is safe to apply."""
    missing = {"Deployment", "Service", "HorizontalPodAutoscaler"} - m.keys()
    if missing:
        return [f"missing {kind}" for kind in sorted(missing)]
    deployment, service, hpa = m["Deployment"], m["Service"], m["HorizontalPodAutoscaler"]
    pod = deployment["spec"]["template"]
    labels, containers = pod["metadata"].get("labels", {}), pod["spec"]["containers"]
    problems = [p for c in containers for p in check_container(c)]

    strategy = deployment["spec"].get("strategy", {})
    rolling = strategy.get("rollingUpdate", {})
    if strategy.get("type") != "RollingUpdate" or not {"maxSurge", "maxUnavailable"} <= rolling.keys():
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
    if not 1 <= spec.get("minReplicas", 1) <= spec["maxReplicas"]:
        problems.append("HPA: needs 1 <= minReplicas <= maxReplicas")
    if not spec.get("metrics"):
        problems.append("HPA: no metrics to scale on")
    return problems


if __name__ == "__main__":
    found = check_manifests(load_manifests())
    print("\n".join(found) or "all checks passed")
