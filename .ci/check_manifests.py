#!/usr/bin/env python3
"""Checks what the Kubernetes schemas cannot: that deploy/kubernetes/ agrees with the service.

- every APP_<SECTION>__<KEY> variable names a setting of settings/default.toml;
- terminationGracePeriodSeconds covers server.shutdown_delay + server.shutdown_timeout with at
  least 5 s to spare, and no preStop hook adds a sleep on top of the service's own delay;
- the readiness probe notices the drain within server.shutdown_delay;
- liveness probes /healthz, readiness /readyz, on the container's port;
- every Secret key the Deployment reads is in the Secret.

Usage: check_manifests.py deploy/kubernetes settings/default.toml
"""

import re
import sys
import tomllib
from pathlib import Path

import yaml

MARGIN_SECONDS = 5
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def main(folder, defaults_path):
    problems = []
    resources = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            resources[document["kind"]] = document
    defaults = tomllib.loads(Path(defaults_path).read_text())
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {entry["name"]: entry for entry in container.get("env", [])}

    for name in env:
        if not name.startswith("APP_") or name == "APP_PROFILE":
            continue
        path = name[len("APP_"):].lower().split("__")
        table = defaults
        for key in path:
            if not isinstance(table, dict) or key not in table:
                problems.append(f"{name} names no setting of {defaults_path}")
                break
            table = table[key]

    def setting(name, section, key):
        if name in env:
            return seconds(env[name]["value"])
        return seconds(defaults[section][key])

    delay = setting("APP_SERVER__SHUTDOWN_DELAY", "server", "shutdown_delay")
    timeout = setting("APP_SERVER__SHUTDOWN_TIMEOUT", "server", "shutdown_timeout")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < delay + timeout + MARGIN_SECONDS:
        problems.append(
            f"terminationGracePeriodSeconds {grace} < shutdown_delay {delay:g} + shutdown_timeout {timeout:g} + {MARGIN_SECONDS}"
        )
    if "preStop" in container.get("lifecycle", {}):
        problems.append("a preStop hook would add to the service's own shutdown_delay")

    readiness = container["readinessProbe"]
    noticed = readiness.get("periodSeconds", 10) * readiness.get("failureThreshold", 3)
    if noticed > delay:
        problems.append(f"readiness notices the drain after {noticed} s, past shutdown_delay {delay:g} s")
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        if get["path"] != path or get["port"] not in ports:
            problems.append(f"{probe} must GET {path} on a container port, not {get}")
    if str(ports.get("http")) != env.get("PORT", {}).get("value"):
        problems.append("the http port is not the PORT the service listens on")

    secret = resources["Secret"]
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for name, entry in env.items():
        reference = entry.get("valueFrom", {}).get("secretKeyRef")
        if reference and (reference["name"] != secret["metadata"]["name"] or reference["key"] not in secret_keys):
            problems.append(f"{name} reads {reference}, which the Secret does not have")

    for problem in problems:
        print(f"deploy/kubernetes: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(
        f"deploy/kubernetes agrees with the service: grace {grace} s >= delay {delay:g} s + timeout {timeout:g} s"
        f" + {MARGIN_SECONDS} s; readiness notices within {noticed} s; {len(env)} variables, all settings"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
