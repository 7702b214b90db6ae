#!/usr/bin/env bash
# Builds the pinned local Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler), etcd and kwok/kwokctl from the Go module proxy, once per version.
# Binaries land in $SLIPWAY_CACHE/bin/<component>-<version>/; a second run is a no-op.
set -euo pipefail

# v1.33.7 cannot be built from the Go proxy: several of its staging modules (cluster-bootstrap,
# endpointslice, externaljwt, ...) answer 403 "not available" at v0.33.7; v1.33.13 has all of them.
KUBE_VERSION="${KUBE_VERSION:-v1.33.13}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.21}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v4.3.2}"  # part helm (issue 18): the chart's lint/template tests
CACHE="${SLIPWAY_CACHE:-$HOME/.cache/slipway}"
export GOMODCACHE="${GOMODCACHE:-$CACHE/go/mod}"
export GOCACHE="${GOCACHE:-$CACHE/go/build}"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--mod=mod}"

log() { printf '[build-kube %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

command -v go >/dev/null || { echo "go is not on PATH: install Go >= 1.24 to build the local control plane" >&2; exit 3; }

kube_bin="$CACHE/bin/kube-$KUBE_VERSION"
etcd_bin="$CACHE/bin/etcd-$ETCD_VERSION"
kwok_bin="$CACHE/bin/kwok-$KWOK_VERSION"
helm_bin="$CACHE/bin/helm-$HELM_VERSION"
mkdir -p "$kube_bin" "$etcd_bin" "$kwok_bin" "$helm_bin"

build_kube() {
  if [[ -x "$kube_bin/kube-apiserver" && -x "$kube_bin/kube-controller-manager" && -x "$kube_bin/kube-scheduler" \
        && -x "$kube_bin/kubectl" ]]; then
    log "kubernetes $KUBE_VERSION: cached in $kube_bin"; return
  fi
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local staging="v0.${KUBE_VERSION#v1.}"
  local work="$CACHE/src/kube-$KUBE_VERSION"; mkdir -p "$work"
  # k8s.io/kubernetes's go.mod requires every staging module at v0.0.0, so a wrapper module
  # pins each of them to the matching published v0.X.Y.
  local mods=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
  {
    echo "module slipway.local/kubebuild"
    echo
    echo "go 1.24"
    echo
    echo "godebug default=go1.24"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    for m in "${mods[@]}"; do echo "replace k8s.io/$m => k8s.io/$m $staging"; done
  } > "$work/go.mod"
  cat > "$work/tools.go" <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  log "kubernetes $KUBE_VERSION: resolving modules (go mod tidy)"
  (cd "$work" && go mod tidy -e >/dev/null 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; exit 1; }
  local pkg=k8s.io/component-base/version
  local ld="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  # kubectl too: the benchmarks' baseline must match the server (Debian's kubernetes-client is 1.20).
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x "$kube_bin/$c" ]] && continue
    log "kubernetes $KUBE_VERSION: building $c"
    (cd "$work" && go build -tags tools -trimpath -ldflags "$ld" -o "$kube_bin/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$kube_bin/$c.tmp" "$kube_bin/$c"
  done
}

build_etcd() {
  if [[ -x "$etcd_bin/etcd" ]]; then log "etcd $ETCD_VERSION: cached"; return; fi
  local work="$CACHE/src/etcd-$ETCD_VERSION"; mkdir -p "$work"
  printf 'module slipway.local/etcdbuild\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  printf '//go:build tools\n\npackage etcdbuild\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  log "etcd $ETCD_VERSION: resolving modules"
  (cd "$work" && go mod tidy -e >/dev/null 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; exit 1; }
  log "etcd $ETCD_VERSION: building"
  (cd "$work" && go build -tags tools -trimpath -ldflags "-s -w" -o "$etcd_bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$etcd_bin/etcd.tmp" "$etcd_bin/etcd"
}

build_kwok() {
  if [[ -x "$kwok_bin/kwok" && -x "$kwok_bin/kwokctl" ]]; then log "kwok $KWOK_VERSION: cached"; return; fi
  log "kwok $KWOK_VERSION: building kwok and kwokctl"
  GOBIN="$kwok_bin" GOFLAGS= go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

# --- part helm (issue 18): helm, for docker/helm/slipway/ (lint, template, tests) ---
build_helm() {
  if [[ -x "$helm_bin/helm" ]]; then log "helm $HELM_VERSION: cached"; return; fi
  log "helm $HELM_VERSION: building"
  # helm reports its own version from ldflags; without them `helm version` says v4-unreleased.
  GOBIN="$helm_bin" GOFLAGS= go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
}
# --- end part helm ---

start=$(date +%s)
case "${1:-all}" in
  kube) build_kube ;;
  etcd) build_etcd ;;
  kwok) build_kwok ;;
  helm) build_helm ;;
  all) build_etcd; build_kwok; build_kube; build_helm ;;
  *) echo "usage: $0 [all|kube|etcd|kwok|helm]" >&2; exit 2 ;;
esac
log "done in $(( $(date +%s) - start ))s"
