"""TensorFlow Serving deployment files: the config files parse as TF Serving reads them, and the Kubernetes
manifests are valid for a pinned Kubernetes version, checked offline with kubernetes-validate."""

import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tests.helpers import TF_SERVING

KUBERNETES_VERSION = "1.34.0"
MANIFESTS = sorted((TF_SERVING / "k8s").glob("*.yaml"))
IMAGE = "tensorflow/serving:2.21.0"
# BatchingParameters fields (tensorflow_serving/servables/tensorflow/session_bundle_config.proto).
BATCHING_FIELDS = {
    "max_batch_size",
    "batch_timeout_micros",
    "max_enqueued_batches",
    "num_batch_threads",
    "thread_pool_name",
    "allowed_batch_sizes",
    "pad_variable_length_inputs",
    "enable_large_batch_splitting",
    "max_execution_batch_size",
}


def resources() -> dict[str, dict]:
    found = {}
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            found[document["kind"]] = document
    return found


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[path.name for path in MANIFESTS])
def test_manifest_is_valid_kubernetes(manifest: Path) -> None:
    for document in yaml.safe_load_all(manifest.read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_validation_rejects_the_retired_api() -> None:
    """What the old manifest used no longer exists: the validator must say so (and so it can fail)."""
    old = {**resources()["Deployment"], "apiVersion": "extensions/v1beta1"}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(old, KUBERNETES_VERSION, strict=True)


def test_deployment_service_and_autoscaler_fit_together() -> None:
    found = resources()
    assert set(found) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PersistentVolumeClaim"}
    deployment, service, autoscaler = found["Deployment"], found["Service"], found["HorizontalPodAutoscaler"]
    assert deployment["apiVersion"] == "apps/v1" and autoscaler["apiVersion"] == "autoscaling/v2"
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == IMAGE
    assert {port["containerPort"] for port in container["ports"]} == {8500, 8501}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/v1/models/resnet", "port": "http"}
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    claim = pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == found["PersistentVolumeClaim"]["metadata"]["name"]


def test_kustomization_lists_every_file_it_needs() -> None:
    kustomization = yaml.safe_load((TF_SERVING / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(f"k8s/{path.name}" for path in MANIFESTS)
    (generator,) = kustomization["configMapGenerator"]
    assert generator["files"] == ["models.config", "batching.config"]
    container = resources()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    for name in generator["files"]:
        assert (TF_SERVING / name).is_file()
        assert any(argument.endswith(f"/config/{name}") for argument in container["args"]), name


def test_models_config_parses_as_tf_serving_reads_it() -> None:
    config = text_format.Parse((TF_SERVING / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("resnet", "/models/resnet", "tensorflow")
    assert model.model_version_policy.latest.num_versions == 1


def test_batching_parameters_are_known_and_fit_the_cpu_limit() -> None:
    text = re.sub(r"#.*", "", (TF_SERVING / "batching.config").read_text())
    fields = dict(re.findall(r"(\w+)\s*\{\s*value:\s*(\d+)\s*\}", text))
    assert fields and set(fields) <= BATCHING_FIELDS
    assert len(re.findall(r"\w+\s*\{", text)) == len(fields), "every field is `name { value: N }`"
    limits = resources()["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert 0 < int(fields["num_batch_threads"]) <= int(limits["cpu"])
    assert int(fields["max_batch_size"]) >= 32


def test_docker_command_serves_the_export_as_resnet() -> None:
    script = TF_SERVING / "run_docker.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    for part in ("-p 8500:8500", "-p 8501:8501", ":/models/resnet:ro", "MODEL_NAME=resnet", IMAGE):
        assert part in text, part
    done = subprocess.run(["bash", str(script), "/nonexistent/models"], capture_output=True, text=True)
    assert done.returncode == 1 and "No such folder: /nonexistent/models" in done.stderr
