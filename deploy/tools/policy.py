"""Checks the rendered manifests against what minibank's deployment promises, beyond the schemas.

Usage: policy.py RENDERED.yaml MIN_DATA_REPLICAS
Exits non-zero listing every broken rule. Rules:
- every Deployment/StatefulSet container has readiness and liveness probes, and resource
  requests and limits for cpu and memory;
- every minibank service (edge, auth, ledger, payments, webhooks) probes /health/ready and
  /health/live, runs `minibank serve <service>`, and has a Service selecting its pods;
- edge has at least 2 replicas; data services at least MIN_DATA_REPLICAS;
- no Secret is referenced that the render does not contain, and no ConfigMap holds a
  secret-looking key;
- every pod meets the `restricted` Pod Security Standard the staging namespace enforces
  (non-root, RuntimeDefault seccomp, no privilege escalation, all capabilities dropped).
"""

import sys

import yaml

SERVICES = ["edge", "auth", "ledger", "payments", "webhooks"]
SECRET_WORDS = ("secret", "password", "token", "signing_key", "private_key")


def main(path, min_data_replicas):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    problems = []
    by_kind = {}
    for doc in docs:
        if "kind" not in doc:
            problems.append(f"a rendered document has no kind: {doc}")
            continue
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc

    workloads = {**by_kind.get("Deployment", {}), **by_kind.get("StatefulSet", {})}
    secrets = by_kind.get("Secret", {})
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        pod_security = pod.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{workload['kind']} {name}: pod does not set runAsNonRoot: true")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{workload['kind']} {name}: pod seccompProfile is not RuntimeDefault")
        for container in pod["containers"]:
            where = f"{workload['kind']} {name}, container {container['name']}"
            security = container.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: does not drop ALL capabilities")
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"{where}: no {probe}")
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(bound, {}):
                        problems.append(f"{where}: no {bound}.{resource}")
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets:
                    problems.append(f"{where}: env {env['name']} uses missing Secret {ref['name']}")
                elif ref and ref["key"] not in secrets[ref["name"]].get("data", {}):
                    problems.append(f"{where}: env {env['name']} uses missing key {ref['key']}")

    services = by_kind.get("Service", {})
    for service in SERVICES:
        deployment = by_kind.get("Deployment", {}).get(service)
        if deployment is None:
            problems.append(f"minibank service {service}: no Deployment")
            continue
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        if container.get("args") != ["serve", service]:
            problems.append(f"{service}: does not run `minibank serve {service}`")
        for probe, path_ in (("readinessProbe", "/health/ready"), ("livenessProbe", "/health/live")):
            got = container.get(probe, {}).get("httpGet", {}).get("path")
            if got != path_:
                problems.append(f"{service}: {probe} path is {got!r}, not {path_}")
        wanted = 2 if service == "edge" else min_data_replicas
        if deployment["spec"].get("replicas", 1) < wanted:
            problems.append(f"{service}: fewer than {wanted} replicas")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selecting = [
            s
            for s in services.values()
            if s["spec"].get("selector")
            and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())
        ]
        if not selecting:
            problems.append(f"{service}: no Service selects its pods")

    for name, config in by_kind.get("ConfigMap", {}).items():
        for key in config.get("data", {}):
            if any(word in key.lower() for word in SECRET_WORDS):
                problems.append(f"ConfigMap {name}: key {key} looks like a secret; use a Secret")

    for problem in problems:
        print(f"policy: {path}: {problem}", file=sys.stderr)
    print(f"policy: {path}: {len(docs)} objects, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
