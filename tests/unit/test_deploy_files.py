"""The deployment files describe the two topologies of docs/deploy.md, and every HAOCHA_* variable
they set is a setting that parses:

- server (deploy/docker-compose.yml, deploy/k8s): N workers, M writers sharing a ClickHouse
  server, the API in a worker;
- embedded (deploy/docker-compose.embedded.yml, deploy/k8s/embedded): N workers and exactly one
  writer, which owns the store and serves the API.

Read as YAML (anchors and merge keys resolved); neither Docker nor a cluster is needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from haocha.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"


def compose(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def k8s_objects(*paths: Path) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for p in paths for d in documents(p)}


def by_command(services: dict, command: str) -> dict[str, dict]:
    return {name: svc for name, svc in services.items() if svc.get("command") == [command]}


def settings_of(env: dict) -> Settings:
    """The settings a process started with `env` gets: every HAOCHA_* key is a field, every value parses."""
    fields = {f"HAOCHA_{name.upper()}" for name in Settings.model_fields}
    haocha = {k: str(v) for k, v in env.items() if k.startswith("HAOCHA_")}
    assert set(haocha) <= fields, f"not settings: {sorted(set(haocha) - fields)}"
    return Settings(**{k.removeprefix("HAOCHA_").lower(): v for k, v in haocha.items()})


def replicas(svc: dict) -> int:
    return svc.get("deploy", {}).get("replicas", 1)


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.embedded.yml"])
def test_every_compose_process_has_valid_settings_and_workers_their_own_volume(name):
    services = compose(name)["services"]
    for svc in services.values():
        if svc.get("image", "").startswith("haocha"):
            settings_of(svc["environment"])
    workers = by_command(services, "worker")
    assert len(workers) >= 2
    volumes = [v.split(":")[0] for w in workers.values() for v in w["volumes"]]
    assert len(set(volumes)) == len(workers), "each worker keeps its RocksDB state in a volume of its own"
    for w in workers.values():
        s = settings_of(w["environment"])
        assert not s.sink_in_worker, "the ClickHouse writer is its own service"
        assert s.partitions >= len(workers)


def test_compose_server_topology_workers_and_scalable_writers_share_the_server():
    services = compose("docker-compose.yml")["services"]
    sinks = by_command(services, "sink")
    assert list(sinks) == ["sink"] and replicas(sinks["sink"]) >= 2
    assert "volumes" not in sinks["sink"], "writers are stateless: they scale"
    s = settings_of(sinks["sink"]["environment"])
    assert not s.embedded_store and "clickhouse" in services
    api = s.worker_url.split("//")[1].split(":")[0]
    assert api in by_command(services, "worker"), "the API is a worker's"


def test_compose_embedded_topology_one_writer_owns_the_store_and_serves_the_api():
    services = compose("docker-compose.embedded.yml")["services"]
    assert "clickhouse" not in services
    sinks = by_command(services, "sink")
    assert list(sinks) == ["sink"] and replicas(sinks["sink"]) == 1
    s = settings_of(sinks["sink"]["environment"])
    assert s.embedded_store and s.sink_api is None  # the default: the store's writer serves the API
    assert s.worker_url == "http://sink:8080" and any(p.endswith(":8080") for p in sinks["sink"]["ports"])
    assert sinks["sink"]["volumes"], "the store, the users and the evidence persist"
    for w in by_command(services, "worker").values():
        assert "ports" not in w, "a worker's API reads nothing here: the console is the writer's"


def test_k8s_base_lists_its_files_and_its_settings_parse():
    listed = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml")
    config = k8s_objects(K8S / "base" / "configmap.yaml")[("ConfigMap", "haocha-config")]["data"]
    s = settings_of(config)
    assert not s.sink_in_worker and s.partitions == 12


def test_k8s_server_topology_workers_writers_and_the_api_in_a_worker():
    top = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert top["resources"] == ["base"]
    objs = k8s_objects(*(p for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml"))
    config = objs[("ConfigMap", "haocha-config")]["data"]
    workers = objs[("StatefulSet", "haocha-worker")]["spec"]
    sinks = objs[("Deployment", "haocha-sink")]["spec"]
    assert 2 <= workers["replicas"] <= int(config["HAOCHA_PARTITIONS"])
    assert sinks["replicas"] >= 2 and sinks["template"]["spec"]["containers"][0]["args"] == ["sink"]
    api = objs[("Service", "haocha-api")]["spec"]["selector"]
    assert api == {"statefulset.kubernetes.io/pod-name": "haocha-worker-0"}
    assert config["HAOCHA_API_URL"] == "http://haocha-api:8080"


def test_k8s_embedded_overlay_replaces_the_writers_with_one_that_serves_the_api():
    overlay = yaml.safe_load((K8S / "embedded" / "kustomization.yaml").read_text())
    assert overlay["resources"] == ["../base", "sink-store.yaml"]
    patches = [yaml.safe_load(p["patch"]) for p in overlay["patches"]]
    assert {"$patch": "delete", "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "haocha-sink"}} in patches
    api = next(p for p in patches if p["kind"] == "Service")
    assert api["metadata"]["name"] == "haocha-api"
    assert api["spec"]["selector"] == {"statefulset.kubernetes.io/pod-name": "haocha-sink-0"}
    sink = k8s_objects(K8S / "embedded" / "sink-store.yaml")[("StatefulSet", "haocha-sink")]["spec"]
    assert sink["replicas"] == 1 and sink["volumeClaimTemplates"], "one writer, its store on a volume"
    assert sink["template"]["spec"]["containers"][0]["args"] == ["sink"]
