#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager for the Kubernetes
# test clusters from the pinned wrapper modules beside this script, into a
# cache outside the work tree, and prints the directory holding the binaries.
# A second run finds the marker file and returns at once.
#   STRAIT_KUBE_CACHE  cache root (default ~/.cache/strait/kube)
# Progress goes to stderr; the binary directory is the only line on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
require_go build.sh

kube_version="$(module_version "$here/kubernetes" k8s.io/kubernetes)"
etcd_version="$(module_version "$here/etcd" go.etcd.io/etcd/server/v3)"
pins="$(cat "$here/kubernetes/go.sum" "$here/etcd/go.sum" | sha256sum | cut -c1-12)"
dir="$cache_root/kube-$kube_version-etcd-$etcd_version-$pins"
claim_cache build.sh "$dir" "$dir"

# Prints a progress line every 25 compiled packages (go build -v names each one).
progress() {
  local label="$1" count=0 line
  while IFS= read -r line; do
    case "$line" in
      *" "* | "#"*) echo "$line" >&2 ;; # errors and notes pass through
      *)
        count=$((count + 1))
        if [ $((count % 25)) -eq 0 ]; then echo "  $label: $count packages compiled (latest: $line)" >&2; fi
        ;;
    esac
  done
  echo "  $label: $count packages compiled" >&2
}

build() {
  local label="$1" module="$2" package="$3" ldflags="$4" started=$SECONDS
  echo "build.sh: building $label ($package) ..." >&2
  if ! (cd "$here/$module" && nice -n 10 go build -v -trimpath -ldflags "$ldflags" -o "$staging/$label" "$package") 2>&1 |
    progress "$label"; then
    echo "build.sh: building $label failed" >&2
    exit 1
  fi
  echo "build.sh: built $label in $((SECONDS - started))s" >&2
  timings+=("\"$label\": $((SECONDS - started))")
}

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
kube_ldflags="$(version_ldflags "$kube_version" "$build_date")"

timings=()
echo "build.sh: Kubernetes $kube_version and etcd $etcd_version into $dir (first build takes a while)" >&2
build etcd etcd go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"

"$staging/kube-apiserver" --version >&2
joined="$(IFS=,; echo "${timings[*]}")"
printf '{"kubernetes": "%s", "etcd": "%s", "go": "%s", "builtAt": "%s", "seconds": {%s}}\n' \
  "$kube_version" "$etcd_version" "$(go env GOVERSION)" "$build_date" "$joined" >"$staging/built.json"
publish_cache "$dir" "$dir"
