"""compose.yaml is linted: `docker compose config` where Docker Compose exists, and everywhere a schema
check of what matters here (services, their dependencies, the settings API and workers share, real
SFUMATO_* names, commands the CLI accepts), so a typo fails CI on a machine without Docker too.
Neither builds an image nor starts a container."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from sfumato.cli import app
from sfumato.config import ENV_PREFIX, FLAT_NAMES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
ENV_ANCHOR = "x-sfumato-env"
# The services that run Sfumato and must see the same settings.
SFUMATO_SERVICES = ("migrate", "api", "worker", "worker-cpu")
KNOWN_SETTINGS = {ENV_PREFIX + flat.upper() for flat in FLAT_NAMES}
SETTING_NAME = re.compile(r"\bSFUMATO_[A-Za-z0-9_]+")

TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets", "include", "models"}
# The Compose Specification's service keys: a misspelt one (`depend_on`) is otherwise silently ignored.
# fmt: off
SERVICE_KEYS = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent",
    "command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota",
    "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec", "depends_on",
    "deploy", "develop", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
    "entrypoint", "env_file", "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
    "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation", "labels", "links", "logging",
    "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "network_mode",
    "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start",
    "pre_stop", "privileged", "profiles", "pull_policy", "read_only", "restart", "runtime", "scale", "secrets",
    "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
    "tmpfs", "tty", "ulimits", "user", "userns_mode", "uts", "volumes", "volumes_from", "working_dir",
}
# fmt: on
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def _cli_problem(argv: list[str]) -> tuple[str | None, dict[str, Any]]:
    """Parse a container's command as `sfumato <argv>` would, without running it: (problem, options)."""
    command: Any = typer.main.get_command(app)
    name, args = "sfumato", list(argv)
    while hasattr(command, "get_command"):  # a group: `db upgrade`
        if not args:
            return f"`sfumato {' '.join(argv)}` names no command", {}
        name, *args = args
        sub = command.get_command(command.context_class(command), name)
        if sub is None:
            return f"`sfumato {' '.join(argv)}`: no command {name!r}", {}
        command = sub
    try:
        return None, dict(command.make_context(name, args).params)
    except Exception as error:  # the CLI's own usage errors (typer vendors click)
        return f"`sfumato {' '.join(argv)}`: {error}", {}


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def _service_problems(name: str, service: dict[str, Any], services: dict[str, Any], volumes: set[str]) -> list[str]:
    problems = [
        f"{name}: unknown key {key!r}" for key in service if key not in SERVICE_KEYS and not key.startswith("x-")
    ]
    if "image" not in service and "build" not in service:
        problems.append(f"{name}: neither image nor build")
    depends = service.get("depends_on") or {}
    for target, spec in ({key: {} for key in depends} if isinstance(depends, list) else depends).items():
        condition = (spec or {}).get("condition", "service_started")
        if target not in services:
            problems.append(f"{name}: depends_on {target!r}, which is no service")
        elif condition not in CONDITIONS:
            problems.append(f"{name}: depends_on {target!r} with unknown condition {condition!r}")
        elif condition == "service_healthy" and "healthcheck" not in services[target]:
            problems.append(f"{name}: waits for {target!r} to be healthy, which has no healthcheck")
        elif condition == "service_completed_successfully" and services[target].get("restart", "no") != "no":
            problems.append(f"{name}: waits for {target!r} to complete, which restarts ({services[target]['restart']})")
    for key, value in _environment(service).items():
        if not isinstance(value, str):
            problems.append(f"{name}: environment {key} is {value!r}, not a string (quote it)")
    for port in service.get("ports") or []:
        if not isinstance(port, str):
            problems.append(f"{name}: port {port!r} is not a quoted string (YAML reads 9000:9000 as a number)")
    for mount in service.get("volumes") or []:
        source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source", "")
        if source and source[0] not in "./~$" and source not in volumes:
            problems.append(f"{name}: volume {source!r} is not declared under top-level volumes")
    check = service.get("healthcheck", {}).get("test")
    if check is not None:
        if isinstance(check, list) and check[:1] not in (["CMD"], ["CMD-SHELL"], ["NONE"]):
            problems.append(f"{name}: healthcheck test must start with CMD, CMD-SHELL or NONE")
        if isinstance(check, list) and check[1:3] == ["python", "-c"]:
            try:
                compile(check[3], f"{name} healthcheck", "exec")
            except SyntaxError as error:
                problems.append(f"{name}: healthcheck python does not compile: {error}")
    return problems


def _sfumato_problems(services: dict[str, Any], shared: dict[str, Any]) -> list[str]:
    """The Sfumato services: the anchor's settings, commands the CLI takes, the GPU and broker set-up."""
    problems: list[str] = []
    for name in SFUMATO_SERVICES:
        if name not in services:
            problems.append(f"no {name!r} service")
            continue
        env = _environment(services[name])
        differing = sorted(key for key, value in shared.items() if env.get(key) != value)
        if differing:
            problems.append(f"{name}: does not share {ENV_ANCHOR} ({', '.join(differing)})")
        command = services[name].get("command")
        if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
            problems.append(f"{name}: command must be a list of strings (arguments to the image's `sfumato`)")
            continue
        problem, options = _cli_problem(command)
        if problem:
            problems.append(f"{name} command: {problem}")
        elif name == "api" and (command[0] != "serve" or not options.get("no_worker") or options["host"] != "0.0.0.0"):
            problems.append("api: must run `serve --no-worker --host 0.0.0.0`")
        elif name.startswith("worker") and command[0] != "worker":
            problems.append(f"{name}: must run `worker`")
        elif name == "migrate" and command != ["db", "upgrade"]:
            problems.append("migrate: must run `db upgrade`")
    devices = services.get("worker", {}).get("deploy", {}).get("resources", {}).get("reservations", {})
    if not any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices.get("devices", [])):
        problems.append("worker: no NVIDIA GPU reservation under deploy.resources.reservations.devices")
    if "--appendonly" not in (services.get("redis", {}).get("command") or []):
        problems.append("redis: not started with --appendonly yes, so queued messages die with it")
    for name, service in services.items():
        build = service.get("build")
        if isinstance(build, dict) and not (ROOT / build.get("context", ".") / build.get("dockerfile", "")).is_file():
            problems.append(f"{name}: build names no Dockerfile that exists")
    return problems


def compose_problems(text: str) -> list[str]:
    """Every mistake the schema check finds in compose.yaml's text; [] when it passes."""
    problems = [f"unknown setting {name} (not in sfumato.config)" for name in sorted(set(SETTING_NAME.findall(text)))]
    problems = [problem for problem in problems if problem.split()[2] not in KNOWN_SETTINGS]
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        return [*problems, "no services mapping"]
    problems += [
        f"unknown top-level key {key!r}" for key in document if key not in TOP_LEVEL_KEYS and not key.startswith("x-")
    ]
    shared = document.get(ENV_ANCHOR)
    if not isinstance(shared, dict) or not shared:
        return [*problems, f"no {ENV_ANCHOR} mapping of shared settings"]
    services: dict[str, Any] = document["services"]
    volumes = set(document.get("volumes") or {})
    for name, service in services.items():
        problems += _service_problems(name, service, services, volumes)
    return problems + _sfumato_problems(services, shared)


def test_compose_file_passes_the_schema_check() -> None:
    assert compose_problems(COMPOSE.read_text(encoding="utf-8")) == []


def test_dockerfile_runs_the_cli_and_dockerignore_keeps_the_venv_out() -> None:
    """The services' commands are arguments to `sfumato`; the build context must not ship .venv or data."""
    assert 'ENTRYPOINT ["sfumato"]' in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".venv", "data", ".git"} <= ignored


# Each mistake, made in a copy of the real file, is what the schema check must then report.
MISTAKES = [
    ("SFUMATO_BROKER_URL: redis", "SFUMATO_BROKR_URL: redis", "unknown setting SFUMATO_BROKR_URL"),
    ("  redis:\n    condition: service_healthy", "  rediss:\n    condition: service_healthy", "'rediss'"),
    ("    image: postgres:16\n", "", "postgres: neither image nor build"),
    ('"--no-worker", "--host"', '"--no-workers", "--host"', "api command"),
    ('"--no-worker", "--host"', '"--host"', "api: must run `serve --no-worker"),
    ('8000"]\n    environment: *sfumato-env', '8000"]\n    environment: {SFUMATO_QUEUE: local}', "api: does not share"),
    ("- pgdata:/var", "- pgdata2:/var", "'pgdata2'"),
    ("    depends_on:", "    depend_on:", "unknown key 'depend_on'"),
    ('["redis-server", "--appendonly", "yes"]', '["redis-server"]', "redis: not started with --appendonly"),
    ("driver: nvidia", "driver: amd", "no NVIDIA GPU reservation"),
    ('SFUMATO_JOB_LEASE_S: "600"', "SFUMATO_JOB_LEASE_S: 600", "not a string"),
]


@pytest.mark.parametrize(("old", "new", "expected"), MISTAKES, ids=[m[2] for m in MISTAKES])
def test_the_schema_check_catches_each_mistake(old: str, new: str, expected: str) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert old in text, f"the real compose.yaml no longer has {old!r}: update this mistake"
    problems = compose_problems(text.replace(old, new, 1))
    assert any(expected in problem for problem in problems), problems


def _docker_compose() -> list[str]:
    docker = shutil.which("docker")
    if docker is not None:
        found = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
        if found.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")  # Debian's docker-compose 1.29 (what .ci/run installs) reads it too
    if legacy is not None:
        return [legacy]
    pytest.skip("`docker compose` is not available here; the schema check above lints compose.yaml instead")


def test_docker_compose_config_accepts_the_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    compose = _docker_compose()
    good = subprocess.run(
        [*compose, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert good.returncode == 0, good.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE.read_text(encoding="utf-8").replace("  redis:\n    condition:", "  rediss:\n    condition:")
    )
    bad = subprocess.run(
        [*compose, "--project-directory", str(ROOT), "-f", str(broken), "config", "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode != 0 and "rediss" in bad.stderr, bad.stderr
