#!/usr/bin/env bash
# Re-pins the wrapper Go modules under testenv/go/ to testenv/versions.env.
#
# Run it after changing a version, then commit go.mod and go.sum of every
# wrapper. Needs Go and the Go module proxy; builds nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$here/versions.env"
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod

pin() { # dir module version
  (cd "$here/go/$1" && go mod edit -require="$2@$3" && go mod tidy)
}

# Kubernetes: k8s.io/kubernetes requires its staging modules at v0.0.0 and maps
# them to directories; every one of them must be replaced by its published tag.
k8s="$here/go/k8s"
staging_version="v0.${KUBERNETES_VERSION#v1.}"
gomod="$(cd "$k8s" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
(
  cd "$k8s"
  go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
  for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod"); do
    go mod edit -replace="$m=$m@$staging_version"
  done
  go mod tidy
)

pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
pin kwok sigs.k8s.io/kwok "$KWOK_VERSION"
pin dex github.com/dexidp/dex "$DEX_MODULE_VERSION"
pin mailpit github.com/axllent/mailpit "$MAILPIT_VERSION"
pin helm helm.sh/helm/v4 "$HELM_VERSION"

echo "wrappers pinned to testenv/versions.env; commit testenv/go/*/go.mod and go.sum"
