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


def test_shipped_manifests_pass_the_schema_and_every_check(manifests):
    assert set(manifests) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert k8s.schema_problems(manifests) == []
    assert k8s.check_manifests(manifests) == []


def test_the_schema_is_the_real_one(manifests):
    # A typo the rules below would never look at, and a wrong type.
    typo = copy.deepcopy(manifests)
    typo["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriod"] = 60
    [problem] = k8s.schema_problems(typo)
    assert problem.startswith("Deployment: schema: spec.template.spec: Additional properties")
    assert "terminationGracePeriod" in problem
    wrong_type = copy.deepcopy(manifests)
    wrong_type["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] = "ten"
    assert k8s.check_manifests(wrong_type) == [
        "HorizontalPodAutoscaler: schema: spec.maxReplicas: 'ten' is not of type 'integer'"
    ]


def test_production_rules_hold(manifests):
    deployment = manifests["Deployment"]["spec"]
    assert "replicas" not in deployment  # the HPA owns the replica count
    pod = deployment["template"]["spec"]
    container = server(manifests)
    assert container["lifecycle"]["preStop"] == {"exec": {"command": ["sleep", "15"]}}
    assert pod["terminationGracePeriodSeconds"] > k8s.prestop_seconds(container)
    resources = container["resources"]
    assert "cpu" in resources["requests"] and "cpu" not in resources["limits"]
    assert resources["limits"]["memory"] == resources["requests"]["memory"]
    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    pdb = manifests["PodDisruptionBudget"]["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"] == {"app": "model-server"}
    assert k8s.quantity("16Gi") == 16 * 2**30 and k8s.quantity("500m") == 0.5


def test_readiness_and_liveness_probe_distinct_endpoints(manifests):
    container = server(manifests)
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "startupProbe" in container  # slow model loading does not trip the liveness probe


def test_rolling_update_service_and_autoscaler(manifests):
    rollout = manifests["Deployment"]["spec"]["strategy"]
    assert rollout == {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}  # RollingUpdate by default
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


def pod(m):
    return m["Deployment"]["spec"]["template"]["spec"]


@pytest.mark.parametrize("probe", ["readinessProbe", "livenessProbe"])
def test_a_missing_probe_fails_the_check(manifests, probe):
    assert broken(manifests, lambda m: server(m).pop(probe)) == [f"server: missing {probe}"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda m: m["Deployment"]["spec"].update(replicas=2),
            "Deployment: drop replicas: the HPA owns it, and every apply would reset the scale",
        ),
        (
            lambda m: server(m).pop("lifecycle"),
            "server: needs a preStop sleep so load balancers stop sending before SIGTERM",
        ),
        (
            lambda m: pod(m).update(terminationGracePeriodSeconds=10),
            "server: terminationGracePeriodSeconds must exceed the preStop sleep",
        ),
        (
            lambda m: server(m)["resources"]["limits"].update(cpu="8"),
            "server: no cpu limit: CFS throttling stalls requests and inflates p99",
        ),
        (
            lambda m: server(m)["resources"]["requests"].pop("cpu"),
            "server: needs a cpu request (the scheduler packs by requests)",
        ),
        (
            lambda m: pod(m).pop("tolerations"),
            "Deployment: GPU pods need a toleration for the nvidia.com/gpu taint",
        ),
        (lambda m: m.pop("PodDisruptionBudget"), "missing PodDisruptionBudget"),
        (
            lambda m: m["PodDisruptionBudget"].update(
                spec={"minAvailable": 2, "selector": {"matchLabels": {"app": "model-server"}}}
            ),
            "PodDisruptionBudget: minAvailable >= minReplicas blocks every node drain",
        ),
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
            # The schema catches it first: autoscaling/v1 has no custom metrics.
            "HorizontalPodAutoscaler: schema: spec: Additional properties are not allowed "
            "('behavior', 'metrics' were unexpected)",
        ),
        (lambda m: m.pop("Service"), "missing Service"),
    ],
)
def test_each_unsafe_change_is_reported(manifests, mutate, expected):
    assert broken(manifests, mutate) == [expected]
