#!/usr/bin/env bash
# Builds kubectl at the Kubernetes version the test clusters pin, from the
# wrapper module in ./kubectl, into the cache scripts/kube/build.sh uses (its
# own directory and marker, so the server binaries' cache stays valid), and
# prints the path of the binary. A second run finds the marker and returns at once.
#   STRAIT_KUBE_CACHE  cache root (default ~/.cache/strait/kube)
# Progress goes to stderr; the binary's path is the only line on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
require_go build-kubectl.sh

kube_version="$(module_version "$here/kubectl" k8s.io/kubernetes)"
pins="$(sha256sum "$here/kubectl/go.sum" | cut -c1-12)"
dir="$cache_root/kubectl-$kube_version-$pins"
claim_cache build-kubectl.sh "$dir" "$dir/kubectl"

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="$(version_ldflags "$kube_version" "$build_date")"

echo "build-kubectl.sh: building kubectl $kube_version into $dir (the first build takes a while)" >&2
started=$SECONDS
(cd "$here/kubectl" && nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$staging/kubectl" k8s.io/kubernetes/cmd/kubectl) >&2
"$staging/kubectl" version --client >&2
printf '{"kubernetes": "%s", "go": "%s", "builtAt": "%s", "seconds": %d}\n' \
  "$kube_version" "$(go env GOVERSION)" "$build_date" "$((SECONDS - started))" >"$staging/built.json"
publish_cache "$dir" "$dir/kubectl"
