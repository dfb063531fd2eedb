#!/usr/bin/env bash
# Validates the Kubernetes manifests offline: renders the kustomize base and every overlay,
# checks each object against the Kubernetes JSON schemas (strict: unknown fields are errors)
# and against minibank's own rules (deploy/tools/policy.py). No cluster, no network at
# validation time; the tools are installed from Debian's archive and PyPI when missing.
#
#   deploy/validate.sh            # validate against Kubernetes $K8S_VERSION (default 1.32.0)
set -euo pipefail
cd "$(dirname "$0")"
K8S_VERSION="${K8S_VERSION:-1.32.0}"

say() { echo "validate: $*"; }
need() { command -v "$1" >/dev/null 2>&1; }

# --- tools -------------------------------------------------------------------------------
if need kustomize; then
  render() { kustomize build "$1"; }
elif need kubectl && kubectl kustomize --help >/dev/null 2>&1; then
  render() { kubectl kustomize "$1"; }
else
  say "installing kubectl (Debian's kubernetes-client) for 'kubectl kustomize'"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
  render() { kubectl kustomize "$1"; }
fi
if ! need kubernetes-validate; then
  say "installing kubernetes-validate (PyPI; bundles the schemas)"
  python3 -m pip install --quiet kubernetes-validate
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml

# --- a scratch copy, with the overlay's uncommitted secret files made from their examples --
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r k8s "$work/k8s"
for example in "$work"/k8s/overlays/*/*.env.example; do
  [ -e "$example" ] || continue
  real="${example%.example}"
  [ -e "$real" ] || cp "$example" "$real"
done

# --- the validator must catch a broken manifest, or a green run means nothing --------------
cat > "$work/broken.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  portz: []
YAML
if kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$work/broken.yaml" >/dev/null 2>&1; then
  say "FAIL: kubernetes-validate accepted an unknown field; strict validation is not working"
  exit 1
fi

# --- render and validate ------------------------------------------------------------------
failed=0
check() { # name dir min-data-replicas
  local name="$1" dir="$2" replicas="$3" out="$work/$1.yaml"
  if ! render "$dir" > "$out" 2> "$work/$name.err"; then
    say "FAIL: $name does not render:"; grep -v '^# Warning' "$work/$name.err" >&2 || true
    failed=1; return
  fi
  if ! kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$out"; then
    say "FAIL: $name does not match the Kubernetes $K8S_VERSION schemas"; failed=1
  fi
  if ! python3 tools/policy.py "$out" "$replicas"; then
    say "FAIL: $name breaks a deployment rule"; failed=1
  fi
  say "$name: $(grep -c '^kind:' "$out") objects checked"
}
check base "$work/k8s/base" 1
for overlay in "$work"/k8s/overlays/*/; do
  check "overlay-$(basename "$overlay")" "$overlay" 2
done

if [ "$failed" -ne 0 ]; then
  say "FAILED"; exit 1
fi
say "all manifests valid (Kubernetes $K8S_VERSION, strict)"
