"""Checks the deployment files against each other and against the binary: the compose
file, the Kubernetes manifests, the Dockerfile, the nginx sample and the Grafana
dashboard parse and hang together, and every `stackbill` flag they use is one the binary
accepts. Usage: python deploy/check.py PATH/TO/stackbill (PyYAML installed)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BINARY = sys.argv[1]
problems = []


def need(ok, message):
    if not ok:
        problems.append(message)


def flags_exist(args, where):
    """Every --flag in a stackbill argument list is in its subcommand's --help."""
    if not args:
        return
    command = args[0]
    help_text = subprocess.run(
        [BINARY, command, "--help"], capture_output=True, text=True, check=False
    )
    need(help_text.returncode == 0, f"{where}: `stackbill {command}` is not a command")
    for arg in args[1:]:
        if arg.startswith("--"):
            flag = arg.split("=", 1)[0]
            need(
                re.search(rf"(^|\s){re.escape(flag)}(\s|,|=|$)", help_text.stdout, re.M),
                f"{where}: `stackbill {command}` has no {flag}",
            )


# Compose.
compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
services = compose["services"]
need(
    {"mariadb", "migrate", "stackbill-1", "stackbill-2", "nginx"} <= set(services),
    "compose: services",
)
need(services["migrate"]["command"] == ["migrate"], "compose: migrate runs `stackbill migrate`")
flags_exist(services["migrate"]["command"], "compose migrate")
for name in ("stackbill-1", "stackbill-2"):
    s = services[name]
    need("healthcheck" in s, f"compose {name}: healthcheck")
    need(
        s["depends_on"]["migrate"]["condition"] == "service_completed_successfully",
        f"compose {name}: starts after the migration",
    )
    need("--skip-migrations" in s["command"], f"compose {name}: replicas never migrate")
    flags_exist(s["command"], f"compose {name}")
need(
    services["mariadb"]["healthcheck"]["test"][0] == "CMD",
    "compose mariadb: healthcheck",
)
for service, spec in services.items():
    for secret in spec.get("secrets", []):
        need(secret in compose["secrets"], f"compose {service}: secret {secret} declared")
for volume in services["nginx"]["volumes"]:
    source = volume.split(":")[0]
    if source.startswith("./") and not source.startswith("./tls"):
        need((ROOT / "deploy" / source).exists(), f"compose nginx: {source} exists")

# nginx: the upstream names the replicas.
nginx = (ROOT / "deploy/nginx.conf").read_text()
for name in ("stackbill-1", "stackbill-2"):
    need(f"server {name}:8080" in nginx, f"nginx: upstream {name}")
need("ssl_certificate " in nginx and "listen 443 ssl" in nginx, "nginx: TLS")

# Kubernetes.
docs = [d for d in yaml.safe_load_all((ROOT / "deploy/k8s/stackbill.yaml").read_text()) if d]
by_kind = {}
for d in docs:
    need({"apiVersion", "kind", "metadata"} <= set(d), f"k8s: a document lacks apiVersion/kind/metadata: {d}")
    by_kind.setdefault(d["kind"], []).append(d)
for kind in ("Secret", "Job", "Deployment", "Service", "Ingress", "CronJob", "PersistentVolumeClaim"):
    need(kind in by_kind, f"k8s: a {kind}")
secret = by_kind["Secret"][0]
secret_keys = set(secret["stringData"])
deployment = by_kind["Deployment"][0]
pod = deployment["spec"]["template"]
need(
    deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
    "k8s Deployment: selector matches its pods",
)
need(pod["spec"]["securityContext"]["runAsNonRoot"] is True, "k8s Deployment: non-root")
container = pod["spec"]["containers"][0]
need(container["readinessProbe"]["httpGet"]["path"] == "/readyz", "k8s: readiness /readyz")
need(container["livenessProbe"]["httpGet"]["path"] == "/healthz", "k8s: liveness /healthz")
need({"requests", "limits"} <= set(container["resources"]), "k8s: resources")
flags_exist(container["args"], "k8s Deployment")
need("--skip-migrations" in container["args"], "k8s Deployment: replicas never migrate")
flags_exist(by_kind["Job"][0]["spec"]["template"]["spec"]["containers"][0]["args"], "k8s Job")


def secret_refs(node):
    if isinstance(node, dict):
        if "secretKeyRef" in node:
            yield node["secretKeyRef"]
        for v in node.values():
            yield from secret_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from secret_refs(v)


for d in docs:
    for ref in secret_refs(d):
        need(ref["name"] == secret["metadata"]["name"] and ref["key"] in secret_keys,
             f"k8s {d['kind']}: secret key {ref}")
service = by_kind["Service"][0]
need(
    service["spec"]["selector"].items() <= pod["metadata"]["labels"].items(),
    "k8s Service: selects the Deployment's pods",
)
port_names = {p["name"] for p in service["spec"]["ports"]}
for rule in by_kind["Ingress"][0]["spec"]["rules"]:
    for path in rule["http"]["paths"]:
        backend = path["backend"]["service"]
        need(backend["name"] == service["metadata"]["name"], "k8s Ingress: backend service")
        need(backend["port"]["name"] in port_names, "k8s Ingress: backend port")
cron = by_kind["CronJob"][0]
need(len(cron["spec"]["schedule"].split()) == 5, "k8s CronJob: five-field schedule")
claim = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0]
need(
    claim["persistentVolumeClaim"]["claimName"] == by_kind["PersistentVolumeClaim"][0]["metadata"]["name"],
    "k8s CronJob: its backup volume",
)

# Dockerfile: multi-stage, non-root, the binary as entry point, a CMD it accepts.
dockerfile = (ROOT / "Dockerfile").read_text()
need(len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2, "Dockerfile: multi-stage")
user = re.findall(r"^USER (\S+)", dockerfile, re.M)
need(user and not user[-1].startswith(("0", "root")), "Dockerfile: runs as a non-root user")
cmd = re.search(r"^CMD (\[.*\])", dockerfile, re.M)
need(cmd is not None, "Dockerfile: CMD")
if cmd:
    flags_exist(json.loads(cmd.group(1)), "Dockerfile CMD")

# Grafana: every metric a panel asks for is one the server exposes.
source = (ROOT / "server/src/api/metrics.rs").read_text()
exposed = set(re.findall(r"(stackbill_[a-z_]+)", source))
# A histogram is exposed as its _bucket, _sum and _count series.
for name in re.findall(r"# TYPE (stackbill_[a-z_]+) histogram", source):
    exposed |= {name + "_bucket", name + "_sum", name + "_count"}
dashboard = json.loads((ROOT / "deploy/grafana/stackbill.json").read_text())
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        for metric in re.findall(r"(stackbill_[a-z_]+)", target["expr"]):
            need(metric in exposed, f"grafana panel {panel['title']!r}: {metric} is not exposed")

if problems:
    print("deployment files:", *problems, sep="\n  ")
    sys.exit(1)
print(f"deployment files: {len(docs)} manifests, {len(services)} services, dashboard checked")
