"""deploy/ trusts nobody by default (there is no Docker or Kubernetes on this machine: the files are read as
YAML and their properties checked): a default-deny NetworkPolicy with web -> database only, workers -> Redis,
database and the targets, beat -> Redis and the database; compose publishes on 127.0.0.1 only; Redis speaks TLS
only with an ACL user; each role gets only its secrets (web: the database; workers: the targets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def k8s() -> list[dict[str, Any]]:
    return [
        d for f in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d
    ]


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s() if d["kind"] == kind}


def pod(deployment: str) -> dict[str, Any]:
    return objects("Deployment")[deployment]["spec"]["template"]["spec"]


def secrets_of(deployment: str) -> dict[str, set[str]]:
    """Secret name -> the keys the pod takes from it ('*' for the whole Secret)."""
    found: dict[str, set[str]] = {}
    for container in pod(deployment)["containers"]:
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                found.setdefault(source["secretRef"]["name"], set()).add("*")
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                found.setdefault(ref["name"], set()).add(ref["key"])
    return found


def egress_to(policy: dict[str, Any]) -> set[str]:
    """What a policy lets its pods reach: app labels, 'outside' for an ipBlock."""
    found = set()
    for rule in policy["spec"].get("egress", []):
        for peer in rule.get("to", []):
            if "ipBlock" in peer:
                found.add("outside")
            elif "podSelector" in peer and "app" in peer["podSelector"].get("matchLabels", {}):
                found.add(peer["podSelector"]["matchLabels"]["app"])
    return found


def test_every_file_parses() -> None:
    assert compose()["services"]
    assert {d["kind"] for d in k8s()} >= {"Deployment", "Service", "NetworkPolicy", "ConfigMap"}


def test_kubernetes_denies_by_default_and_lets_each_role_reach_what_it_needs_only() -> None:
    policies = objects("NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}  # no rule: nothing allowed
    assert egress_to(policies["runbook-web"]) == {"postgres"}
    assert egress_to(policies["runbook-worker"]) == {"redis", "postgres", "outside"}
    assert egress_to(policies["runbook-beat"]) >= {"redis", "postgres"}
    assert "runbook-web" not in {
        p["podSelector"]["matchLabels"]["app"]
        for rule in policies["redis"]["spec"]["ingress"]
        for p in rule["from"]
    }
    for name in ("redis", "postgres", "runbook-worker", "runbook-beat"):
        assert policies[name]["spec"]["policyTypes"] == ["Ingress", "Egress"], name


def test_each_kubernetes_role_gets_only_its_secrets() -> None:
    assert secrets_of("runbook-web") == {"runbook-web": {"RUNBOOK_DATABASE_URL"}}
    assert "runbook-targets" in secrets_of("runbook-worker")
    assert "runbook-targets" not in secrets_of("runbook-beat")
    assert secrets_of("runbook-beat")["runbook-beat"] == {"RUNBOOK_DATABASE_URL", "RUNBOOK_BROKER_URL"}
    assert not objects("Secret"), "no Secret object with values in the repository"
    env = objects("ConfigMap")["runbook-env"]["data"]
    assert "RUNBOOK_BROKER_URL" not in env  # it holds the broker's password


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_redis_speaks_tls_only_with_an_acl_user(where: str) -> None:
    if where == "compose":
        args = compose()["services"]["redis"]["command"]
    else:
        args = pod("redis")["containers"][0]["args"]
    assert args[args.index("--port") + 1] == "0"  # no plain port
    assert "--tls-port" in args and "--tls-cert-file" in args and "--aclfile" in args


def test_compose_publishes_on_loopback_only_and_gives_each_role_its_secrets() -> None:
    services = compose()["services"]
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(str(p).startswith("127.0.0.1:") for p in published), published
    web = services["web"]
    assert set(web["environment"]) & {"RUNBOOK_BROKER_URL", "RUNBOOK_BROKER_CA"} == set()
    assert "env_file" not in web and "broker" not in web["networks"]
    assert "targets.env" in services["worker"]["env_file"]
    assert "targets.env" not in str(services["beat"].get("env_file"))
    for role in ("worker", "beat"):
        assert services[role]["environment"]["RUNBOOK_BROKER_URL"].startswith(
            "rediss://runbook:${REDIS_PASSWORD"
        )
    networks = compose()["networks"]
    assert networks["broker"]["internal"] and networks["database"]["internal"]


def test_the_status_server_listens_on_loopback_behind_a_tls_proxy() -> None:
    """`checks web` refuses any address but loopback: compose and the pod front it with TLS."""
    services = compose()["services"]
    web = services["web"]["command"]
    assert web[web.index("--host") + 1] == "127.0.0.1" and "--allowed-host" in web
    assert services["web-tls"]["network_mode"] == "service:web"
    assert services["web"]["ports"] == ["127.0.0.1:8443:8443"]
    containers = {c["name"]: c for c in pod("runbook-web")["containers"]}
    args = containers["web"]["args"]
    assert args[args.index("--host") + 1] == "127.0.0.1"
    assert [p["containerPort"] for p in containers["tls"]["ports"]] == [8443]
    assert "ports" not in containers["web"]  # nothing reaches the status server but the proxy
