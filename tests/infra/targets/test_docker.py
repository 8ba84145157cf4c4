"""The dev stack, evaluated under mocks from the real Pulumi.dev.yaml."""

from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from components.docker.backup import SCRIPT
from components.docker.prometheus import ScrapeTarget, prometheus_config
from infra.offline import PlatformMocks, Registration, StackRun, run_stack

CONTAINER = "docker:index/container:Container"
GRANT = "postgresql:index/grant:Grant"
DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges"


def plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def by_name(run: StackRun) -> dict[str, Registration]:
    return {r.name: r for r in run.resources}


def test_every_component_the_design_names_is_there(dev_run: StackRun) -> None:
    components = {r.type for r in dev_run.resources if not r.custom}
    assert components == {
        "platform:docker:Network",
        "platform:docker:Database",
        "platform:postgres:DatabaseAccess",
        "platform:docker:Service",
        "platform:docker:Prometheus",
        "platform:docker:DatabaseBackup",
        "platform:docker:DatabaseExporters",
        "platform:secrets:SecretValues",
    }
    services = {r.name for r in dev_run.by_type("platform:docker:Service")}
    assert services == {"web", "worker"}


def test_every_resource_sits_under_a_component_named_as_its_prefix(dev_run: StackRun) -> None:
    urns = {r.urn: r for r in dev_run.resources}
    for resource in dev_run.resources:
        if not resource.custom:
            assert resource.parent.endswith("::platform-dev"), resource.name
            continue
        parent = urns.get(resource.parent)
        assert parent is not None and not parent.custom, f"{resource.name} has no component"
        assert resource.name.startswith(f"{parent.name}-"), (resource.name, parent.name)


def test_database_is_healthy_before_roles_and_migrations(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    server = names["db-server"]
    assert server.inputs["wait"] is True
    assert server.inputs["healthcheck"]["tests"][:2] == ["CMD", "pg_isready"]
    assert "/var/lib/postgresql/data" in json.dumps(server.inputs["volumes"])
    provider = names["db-access-provider"]
    assert server.urn in provider.dependencies
    migrate = names["web-migrate"]
    for needed in ("db-server", "db-access-app-future-tables", "db-access-readonly-future-tables"):
        assert names[needed].urn in migrate.dependencies, needed


def test_migration_runs_to_completion_before_the_service(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    migrate = names["web-migrate"]
    assert migrate.inputs["attach"] is True
    assert migrate.inputs["mustRun"] is False
    assert migrate.inputs["restart"] == "no"
    assert migrate.inputs["command"] == ["npx", "prisma", "migrate", "deploy"]
    web = names["web-1"]
    assert migrate.urn in web.dependencies
    labels = {item["label"]: item["value"] for item in web.inputs["labels"]}
    assert labels["platform.migration"] == "succeeded"
    env = plain(migrate.inputs["envs"])
    assert any(e.startswith("DATABASE_URL=postgresql://shop_owner:") for e in env)
    assert any(
        e.startswith("DATABASE_URL=postgresql://shop_app:") for e in plain(web.inputs["envs"])
    )


class FailedMigrationMocks(PlatformMocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.name == "web-migrate":
            state["exitCode"] = 3
            state["containerLogs"] = "".join(f"line {n}\n" for n in range(1, 31)) + (
                "Error: P3018 migration 20260601000000_broken failed\n"
            )
        return resource_id, state


def test_failed_migration_stops_the_rollout_quoting_the_end_of_its_output(
    repo_root: Path,
) -> None:
    with pytest.raises(Exception, match="migration for service 'web' exited with 3") as err:
        run_stack(repo_root, "dev", mocks=FailedMigrationMocks())
    message = str(err.value)
    assert "P3018 migration 20260601000000_broken failed" in message
    assert "line 30" in message and "line 17" in message and "line 16\n" not in message


def test_the_migration_keeps_its_logs_for_the_error(dev_run: StackRun) -> None:
    assert dev_run.named("web-migrate").inputs["logs"] is True


def test_long_running_containers_have_healthchecks_and_wait(dev_run: StackRun) -> None:
    long_running = [r for r in dev_run.by_type(CONTAINER) if not r.inputs.get("attach")]
    assert {r.name for r in long_running} == {
        "db-server",
        "web-1",
        "worker-1",
        "prometheus-server",
        "prometheus-pushgateway",
        "db-backup-job",
        "db-exporters-postgres",
        "db-exporters-node",
    }
    for container in long_running:
        assert container.inputs["wait"] is True, container.name
        assert container.inputs["healthcheck"]["tests"], container.name
        assert container.inputs["restart"] == "unless-stopped"
    web = by_name(dev_run)["web-1"]
    assert "http://127.0.0.1:3000/api/ready" in " ".join(web.inputs["healthcheck"]["tests"])
    worker = by_name(dev_run)["worker-1"]
    assert worker.inputs["healthcheck"]["tests"] == ["CMD", "node", "src/healthcheck.js"]
    assert worker.inputs.get("ports") in (None, [])


def test_published_ports_bind_to_loopback_only(dev_run: StackRun) -> None:
    published = [
        (r.name, port) for r in dev_run.by_type(CONTAINER) for port in r.inputs.get("ports") or []
    ]
    assert {name for name, _ in published} == {"db-server", "web-1", "prometheus-server"}
    for name, port in published:
        assert port["ip"] == "127.0.0.1", name


def test_limits_come_from_config(dev_run: StackRun) -> None:
    web = by_name(dev_run)["web-1"]
    assert web.inputs["memory"] == 512
    assert web.inputs["cpus"] == "0.25"


def _grants(run: StackRun, role: str) -> dict[str, list[str]]:
    role_names = {"app": "shop_app", "readonly": "shop_readonly"}
    return {
        r.inputs["objectType"]: sorted(r.inputs["privileges"])
        for r in run.by_type(GRANT)
        if r.inputs["role"] == role_names[role]
    }


def test_roles_are_least_privilege(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    assert names["db-access-database"].inputs["owner"] == "shop_owner"
    for role in ("owner", "app", "readonly"):
        inputs = names[f"db-access-{role}"].inputs
        assert inputs["superuser"] is False and inputs["createRole"] is False
        assert inputs["createDatabase"] is False
    app = _grants(dev_run, "app")
    assert app == {
        "database": ["CONNECT"],
        "schema": ["USAGE"],  # no CREATE: the app cannot run DDL
        "table": ["DELETE", "INSERT", "SELECT", "UPDATE"],
        "sequence": ["SELECT", "UPDATE", "USAGE"],
    }
    readonly = _grants(dev_run, "readonly")
    assert readonly == {
        "database": ["CONNECT"],
        "schema": ["USAGE"],
        "table": ["SELECT"],
        "sequence": ["SELECT"],
    }
    public = names["db-access-revoke-public"].inputs
    assert public["role"] == "public" and public["privileges"] == []


def test_future_tables_of_the_owner_are_granted(dev_run: StackRun) -> None:
    future = {
        (r.inputs["role"], r.inputs["objectType"]): sorted(r.inputs["privileges"])
        for r in dev_run.by_type(DEFAULT_PRIVILEGES)
    }
    assert all(r.inputs["owner"] == "shop_owner" for r in dev_run.by_type(DEFAULT_PRIVILEGES))
    assert future[("shop_app", "table")] == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    assert future[("shop_readonly", "table")] == ["SELECT"]


def test_secrets_reach_containers_only_as_secrets(dev_run: StackRun) -> None:
    for container in dev_run.by_type(CONTAINER):
        envs = container.inputs.get("envs")
        if envs and any("mock-password" in e for e in plain(envs)):
            assert rpc.is_rpc_secret(envs), container.name
    provider = by_name(dev_run)["db-access-provider"]
    assert rpc.is_rpc_secret(provider.inputs["password"])


def test_outputs(dev_run: StackRun) -> None:
    outputs = dev_run.outputs
    assert outputs["serviceUrls"] == ({"web": "http://127.0.0.1:3000"}, False)
    assert outputs["readinessPaths"] == ({"web": "/api/ready"}, False)
    assert outputs["prometheusUrl"] == ("http://127.0.0.1:19090", False)
    assert outputs["databaseHost"] == ("127.0.0.1", False)
    assert outputs["databasePort"] == (15432, False)
    assert outputs["databaseName"] == ("shop", False)
    url, secret = outputs["databaseUrl"]
    assert secret is True
    assert url.startswith("postgresql://shop_app:")
    groups, _ = outputs["alertRuleGroups"]
    assert set(groups) == {"platform-slo", "platform-service", "platform-database"}


def test_prometheus_gets_rules_for_every_service(dev_run: StackRun) -> None:
    uploads = {
        u["file"]: u["content"] for u in by_name(dev_run)["prometheus-server"].inputs["uploads"]
    }
    rules = uploads["/etc/prometheus/rules/platform.yml"]
    assert 'service="web"' in rules and 'service="worker"' in rules
    assert "platform-dev-web-1:3000" in uploads["/etc/prometheus/prometheus.yml"]


def test_the_worker_is_scraped_on_its_metrics_port_so_its_rules_have_data(
    dev_run: StackRun,
) -> None:
    """The worker has no port; without a metrics port its cpu, memory and restart rules would
    query series nothing scrapes."""
    uploads = {
        u["file"]: u["content"] for u in by_name(dev_run)["prometheus-server"].inputs["uploads"]
    }
    config = yaml.safe_load(uploads["/etc/prometheus/prometheus.yml"])
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "worker"]
    assert job["static_configs"] == [
        {"targets": ["platform-dev-worker-1:9464"], "labels": {"service": "worker"}}
    ]
    envs = by_name(dev_run)["worker-1"].inputs["envs"]
    envs = envs["value"] if isinstance(envs, dict) else envs
    assert "METRICS_PORT=9464" in envs


def test_main_module_exports_the_outputs_under_the_cli_entry(repo_root: Path) -> None:
    """infra/__main__.py is what `pulumi up` runs (main: infra/); it must import and export."""
    exported: dict[str, Any] = {}
    # Sets mocks and config for the dev stack: a fresh evaluation (custom mocks are never served
    # from the suite's cache), or the runtime keeps whichever stack this worker evaluated last.
    run_stack(repo_root, "dev", mocks=PlatformMocks())
    original = pulumi.export
    try:
        pulumi.export = lambda key, value: exported.__setitem__(key, value)  # type: ignore[assignment]
        runpy.run_path(str(repo_root / "infra" / "__main__.py"), run_name="__main__")
    finally:
        pulumi.export = original
    assert {"serviceUrls", "databaseUrl", "prometheusUrl", "databaseHost"} <= set(exported)


def test_main_module_turns_bad_config_into_a_clean_run_error(repo_root: Path) -> None:
    run_stack(repo_root, "dev")
    pulumi.runtime.set_all_config({"platform:environment": "dev", "platform:servics": "{}"})
    with pytest.raises(pulumi.RunError, match=r"platform:servics: unknown key"):
        runpy.run_path(str(repo_root / "infra" / "__main__.py"), run_name="__main__")


def env_map(container: Registration) -> dict[str, str]:
    return dict(e.split("=", 1) for e in plain(container.inputs["envs"]))


def test_backup_dumps_as_the_owner_with_its_password_only_as_a_secret(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    job = names["db-backup-job"]
    assert rpc.is_rpc_secret(job.inputs["envs"])
    env = env_map(job)
    assert env["PGUSER"] == "shop_owner" == names["db-access-database"].inputs["owner"]
    assert env["PGPASSWORD"] == "mock-password-db-access-owner-password"
    assert (env["PGHOST"], env["PGPORT"], env["PGDATABASE"]) == ("db", "5432", "shop")
    for needed in ("db-access-owner", "db-access-database", "db-access-app-future-tables"):
        assert names[needed].urn in job.dependencies, needed  # roles exist before the first dump
    server = names["db-server"]
    assert job.inputs["image"] == server.inputs["image"]  # pg_dump matches the server's major


def test_backup_runs_the_repo_script_into_its_own_volume(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    job = names["db-backup-job"]
    volume = names["db-backup-dumps"].inputs["name"]
    assert volume == "platform-dev-db-backups" != names["db-data"].inputs["name"]
    assert job.inputs["volumes"] == [{"volumeName": volume, "containerPath": "/backups"}]
    (upload,) = job.inputs["uploads"]
    assert upload["content"] == SCRIPT.read_text() and upload["executable"] is True
    assert job.inputs["entrypoints"] == ["/bin/sh", upload["file"]]
    assert job.inputs["command"] == ["loop"]
    assert job.inputs["healthcheck"]["tests"] == ["CMD", "/bin/sh", upload["file"], "check"]
    settings = dev_run.config.docker
    assert settings is not None
    interval = settings.backup_interval_hours * 3600
    env = env_map(job)
    assert env["BACKUP_DIR"] == "/backups"
    assert int(env["BACKUP_INTERVAL_SECONDS"]) == interval == 86400
    assert int(env["BACKUP_KEEP"]) == settings.backup_keep == 7
    assert interval * 2 < int(env["BACKUP_MAX_AGE_SECONDS"]) <= interval * 2 + 3600
    assert not job.inputs.get("ports")


def test_prometheus_scrapes_the_pushgateway_the_backup_pushes_to(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    gateway = names["prometheus-pushgateway"]
    assert gateway.inputs["name"] == "platform-dev-pushgateway"
    assert not gateway.inputs.get("ports")  # on the stack network only
    assert gateway.inputs["networksAdvanced"] == [{"name": "platform-dev"}]
    image = names["prometheus-pushgateway-image"].inputs["name"]
    assert image == "prom/pushgateway:v1.9.0"
    uploads = {u["file"]: u["content"] for u in names["prometheus-server"].inputs["uploads"]}
    config = yaml.safe_load(uploads["/etc/prometheus/prometheus.yml"])
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "pushgateway"]
    assert job["honor_labels"] is True  # keeps job="db-backup" as pushed
    assert job["static_configs"] == [{"targets": ["platform-dev-pushgateway:9091"]}]
    backup = names["db-backup-job"]
    assert env_map(backup)["PUSHGATEWAY_URL"] == "http://platform-dev-pushgateway:9091"
    assert gateway.urn in backup.dependencies
    rules = uploads["/etc/prometheus/rules/platform.yml"]
    assert "platform_backup_last_success_timestamp_seconds" in rules


def test_named_containers_are_deleted_before_they_are_replaced(dev_run: StackRun) -> None:
    """Docker refuses a second container with the same name or host port: a replacement (a new
    image, a changed env) must remove the old container first or `pulumi up` fails."""
    for container in dev_run.by_type(CONTAINER):
        assert container.inputs.get("name"), container.name
        assert container.delete_before_replace, container.name


# ---------------------------------------------------------------- database exporters

PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
PROMETHEUS_RULES = "/etc/prometheus/rules/platform.yml"
EXPORTED_BY = {
    # metric name prefix -> the scrape job whose target exports it
    "pg_stat_database_": "postgres-exporter",
    "pg_settings_": "postgres-exporter",
    "node_filesystem_": "node-exporter",
    "platform_backup_": "pushgateway",
}
PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset"}


def prometheus_uploads(run: StackRun) -> dict[str, str]:
    return {u["file"]: u["content"] for u in run.named("prometheus-server").inputs["uploads"]}


def database_rules(run: StackRun) -> list[dict[str, Any]]:
    rules = yaml.safe_load(prometheus_uploads(run)[PROMETHEUS_RULES])
    return [r for g in rules["groups"] if g["name"] == "platform-database" for r in g["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression selects: names outside braces, ranges and grouping
    clauses that call nothing and are not keywords."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    return set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", bare)) - PROMQL_KEYWORDS


def label_matchers(expr: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r'([a-zA-Z_]\w*)\s*(=~|!=|!~|=)\s*"([^"]*)"', expr))


def listen_port(container: Registration) -> int:
    (flag,) = [a for a in container.inputs["command"] if a.startswith("--web.listen-address=:")]
    return int(flag.rpartition(":")[2])


def test_postgres_exporter_logs_in_as_the_readonly_role_with_its_dsn_only_as_a_secret(
    dev_run: StackRun,
) -> None:
    names = by_name(dev_run)
    exporter = names["db-exporters-postgres"]
    assert exporter.inputs["name"] == "platform-dev-postgres-exporter"
    assert rpc.is_rpc_secret(exporter.inputs["envs"])
    readonly = names["db-access-readonly"].inputs["name"]
    password = "mock-password-db-access-readonly-password"
    assert env_map(exporter) == {
        "DATA_SOURCE_NAME": f"postgresql://{readonly}:{password}@db:5432/shop?sslmode=disable"
    }
    elsewhere = json.dumps({k: v for k, v in exporter.inputs.items() if k != "envs"}, default=str)
    assert password not in elsewhere
    for needed in ("db-server", "db-access-readonly", "db-access-readonly-connect"):
        assert names[needed].urn in exporter.dependencies, needed  # the login exists first
    assert not exporter.inputs.get("ports")
    assert exporter.inputs["networksAdvanced"] == [{"name": "platform-dev"}]
    image = names["db-exporters-postgres-image"].inputs["name"]
    assert image == "quay.io/prometheuscommunity/postgres-exporter:v0.15.0"
    # healthy once it has logged in, so a wrong DSN fails `pulumi up` instead of the alert
    assert "'^pg_up 1$'" in exporter.inputs["healthcheck"]["tests"][1]


def test_node_exporter_sees_exactly_the_database_volume_read_only(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    node = names["db-exporters-node"]
    (data,) = names["db-server"].inputs["volumes"]
    assert data["volumeName"] == names["db-data"].inputs["name"] == "platform-dev-db-data"
    assert node.inputs["volumes"] == [{**data, "readOnly": True}]
    path = data["containerPath"]
    selected = {
        (label, op, value)
        for rule in database_rules(dev_run)
        for label, op, value in label_matchers(rule["expr"])
    }
    assert selected == {("mountpoint", "=", path)}  # where the volume is mounted, both sides
    command = node.inputs["command"]
    collectors = [
        a for a in command if a.startswith("--collector.") and "--collector.filesystem." not in a
    ]
    assert collectors == ["--collector.disable-defaults", "--collector.filesystem"]
    (include,) = [
        a.partition("=")[2]
        for a in command
        if a.startswith("--collector.filesystem.mount-points-include=")
    ]
    # node_exporter searches the regexp unanchored, as re.search does
    mounts = ["/", "/etc/hosts", "/etc/resolv.conf", "/var/lib/postgresql", f"{path}/pg_wal", path]
    assert [mount for mount in mounts if re.search(include, mount)] == [path]
    assert not node.inputs.get("envs")  # no credentials: it reads the mount, not the server
    assert not node.inputs.get("ports")
    assert node.inputs["networksAdvanced"] == [{"name": "platform-dev"}]
    assert names["db-server"].urn in node.dependencies
    image = names["db-exporters-node-image"].inputs["name"]
    version = tuple(int(part) for part in image.rpartition(":v")[2].split("."))
    assert version >= (1, 9, 0)  # the first release with --collector.filesystem.mount-points-*
    assert f'mountpoint="{path}"' in node.inputs["healthcheck"]["tests"][1]


def test_prometheus_scrapes_both_exporters_by_container_name(dev_run: StackRun) -> None:
    names = by_name(dev_run)
    config = yaml.safe_load(prometheus_uploads(dev_run)[PROMETHEUS_CONFIG])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for job, container in (
        ("postgres-exporter", names["db-exporters-postgres"]),
        ("node-exporter", names["db-exporters-node"]),
    ):
        target = f"{container.inputs['name']}:{listen_port(container)}"
        assert jobs[job]["static_configs"] == [{"targets": [target]}], job
        # no `service` label (service rules select by it), no relabelling of the exporter's own
        assert set(jobs[job]) == {"job_name", "static_configs"}, job


def test_database_rules_read_only_metrics_some_scrape_target_exports(dev_run: StackRun) -> None:
    config = yaml.safe_load(prometheus_uploads(dev_run)[PROMETHEUS_CONFIG])
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    read: dict[str, set[str]] = {}
    for rule in database_rules(dev_run):
        metrics = metric_names(rule["expr"])
        assert metrics, rule["alert"]
        for metric in metrics:
            exporters = [job for prefix, job in EXPORTED_BY.items() if metric.startswith(prefix)]
            assert exporters, f"{rule['alert']}: no scrape target exports {metric}"
            assert exporters[0] in jobs, f"{rule['alert']}: {exporters[0]} is not scraped"
            read.setdefault(rule["labels"]["rule"], set()).add(exporters[0])
    assert read["db_connections_high"] == {"postgres-exporter"}
    assert read["db_storage_low"] == {"node-exporter"}
    assert read["backup_too_old"] == {"pushgateway"}


def test_dev_prometheus_config_passes_promtool(dev_run: StackRun, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not on PATH; install it with `apt-get install prometheus`")
    uploads = prometheus_uploads(dev_run)
    config = yaml.safe_load(uploads[PROMETHEUS_CONFIG])
    (tmp_path / "platform.yml").write_text(uploads[PROMETHEUS_RULES])
    config["rule_files"] = ["platform.yml"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_service_named_like_an_exporter_job_is_refused() -> None:
    with pytest.raises(ValueError, match="two scrape jobs named node-exporter"):
        prometheus_config(
            "dev",
            [ScrapeTarget("node-exporter", ["platform-dev-node-exporter-1:9100"])],
            "platform-dev-pushgateway:9091",
            {"node-exporter": "platform-dev-node-exporter:9100"},
        )
