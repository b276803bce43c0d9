#!/usr/bin/env bash
# Builds kubectl at the Kubernetes version the test clusters pin, from the
# wrapper module in ./kubectl, into the cache scripts/kube/build.sh uses (its
# own directory and marker, so the server binaries' cache stays valid), and
# prints the path of the binary. A second run finds the marker and returns at once.
#   STRAIT_KUBE_CACHE  cache root (default ~/.cache/strait/kube)
# Progress goes to stderr; the binary's path is the only line on stdout.
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v go >/dev/null 2>&1; then
  echo "build-kubectl.sh: Go is not installed (looked in PATH and /usr/local/go/bin)" >&2
  exit 3
fi

kube_version="$(sed -n 's#^require k8s.io/kubernetes \(v[^ ]*\).*#\1#p' "$here/kubectl/go.mod")"
pins="$(sha256sum "$here/kubectl/go.sum" | cut -c1-12)"
cache_root="${STRAIT_KUBE_CACHE:-$HOME/.cache/strait/kube}"
dir="$cache_root/kubectl-$kube_version-$pins"
marker="$dir/built.json"

if [ -f "$marker" ]; then
  echo "$dir/kubectl"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/build.lock"
echo "build-kubectl.sh: waiting for the build lock ($cache_root/build.lock)" >&2
flock 9
if [ -f "$marker" ]; then
  echo "$dir/kubectl"
  exit 0
fi

staging="$(mktemp -d "$cache_root/.building.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

minor="$(echo "$kube_version" | cut -d. -f2)"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

echo "build-kubectl.sh: building kubectl $kube_version into $dir (the first build takes a while)" >&2
started=$SECONDS
(cd "$here/kubectl" && nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$staging/kubectl" k8s.io/kubernetes/cmd/kubectl) >&2
"$staging/kubectl" version --client >&2
printf '{"kubernetes": "%s", "go": "%s", "builtAt": "%s", "seconds": %d}\n' \
  "$kube_version" "$(go env GOVERSION)" "$build_date" "$((SECONDS - started))" >"$staging/built.json"
rm -rf "$dir"
mv "$staging" "$dir"
trap - EXIT
echo "$dir/kubectl"
