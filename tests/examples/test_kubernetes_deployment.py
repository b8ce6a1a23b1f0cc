import copy

import pytest
import yaml
from example_support import assert_fits_on_card, load_example, read_region

k8s = load_example("kubernetes_deployment")


@pytest.fixture
def manifests():
    return k8s.load_manifests()


def server(manifests):
    return manifests["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def test_region_fits_on_a_card():
    assert_fits_on_card("kubernetes/model-server.yaml", "deployment")


def test_the_region_is_exactly_the_deployment_document(manifests):
    shown = yaml.safe_load(read_region("kubernetes/model-server.yaml", "deployment"))
    assert shown == manifests["Deployment"]


def test_shipped_manifests_pass_every_check(manifests):
    assert set(manifests) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    assert k8s.check_manifests(manifests) == []


def test_resources_requests_and_limits_include_the_gpu(manifests):
    resources = server(manifests)["resources"]
    for resource in ("cpu", "memory"):
        assert k8s.quantity(resources["requests"][resource]) <= k8s.quantity(resources["limits"][resource])
    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == 1
    assert k8s.quantity("16Gi") == 16 * 2**30 and k8s.quantity("500m") == 0.5


def test_readiness_and_liveness_probe_distinct_endpoints(manifests):
    container = server(manifests)
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "startupProbe" in container  # slow model loading does not trip the liveness probe


def test_rolling_update_service_and_autoscaler(manifests):
    rollout = manifests["Deployment"]["spec"]["strategy"]
    assert rollout == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    service = manifests["Service"]["spec"]
    assert service["selector"] == manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]
    hpa = manifests["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == manifests["Deployment"]["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2  # no single point of failure
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "inference_requests_in_flight"


def broken(manifests, mutate):
    changed = copy.deepcopy(manifests)
    mutate(changed)
    return k8s.check_manifests(changed)


@pytest.mark.parametrize("probe", ["readinessProbe", "livenessProbe"])
def test_a_missing_probe_fails_the_check(manifests, probe):
    assert broken(manifests, lambda m: server(m).pop(probe)) == [f"server: missing {probe}"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda m: server(m)["readinessProbe"].update(httpGet={"path": "/healthz", "port": "http"}),
            "server: readiness and liveness must probe distinct endpoints",
        ),
        (
            lambda m: server(m)["resources"]["limits"].pop("nvidia.com/gpu"),
            "server: GPUs must be set in limits",
        ),
        (
            lambda m: server(m)["resources"]["requests"].pop("memory"),
            "server: needs memory requests and limits",
        ),
        (
            lambda m: server(m)["resources"]["requests"].update(cpu="16"),
            "server: cpu request exceeds its limit",
        ),
        (lambda m: server(m).update(image="model-server:latest"), "server: pin the image tag"),
        (
            lambda m: m["Deployment"]["spec"].update(strategy={"type": "Recreate"}),
            "Deployment: use a RollingUpdate with maxSurge and maxUnavailable",
        ),
        (
            lambda m: m["Service"]["spec"].update(selector={"app": "other"}),
            "Service: selector does not match the pod labels",
        ),
        (
            lambda m: m["HorizontalPodAutoscaler"].update(apiVersion="autoscaling/v1"),
            "HPA: use autoscaling/v2",
        ),
        (lambda m: m.pop("Service"), "missing Service"),
    ],
)
def test_each_unsafe_change_is_reported(manifests, mutate, expected):
    assert broken(manifests, mutate) == [expected]
