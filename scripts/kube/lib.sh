# Shell functions shared by build.sh and build-kubectl.sh; sourced, never run.
# The sourcing script sets `here` (this directory) and `set -euo pipefail` first.
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
cache_root="${STRAIT_KUBE_CACHE:-$HOME/.cache/strait/kube}"

# require_go SCRIPT: exits 3 with a message naming SCRIPT when Go cannot be found.
require_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "$1: Go is not installed (looked in PATH and /usr/local/go/bin)" >&2
    exit 3
  fi
}

# module_version DIR MODULE: the version DIR/go.mod requires MODULE at.
module_version() { sed -n "s#^require $2 \(v[^ ]*\).*#\1#p" "$1/go.mod"; }

# version_ldflags VERSION BUILD_DATE: linker flags that stamp a Kubernetes binary with VERSION.
version_ldflags() {
  local version="$1" build_date="$2" minor flags="-s -w" pkg
  minor="$(echo "$version" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  echo "$flags"
}

# claim_cache SCRIPT DIR RESULT: prints RESULT and exits when DIR (under cache_root) holds a finished build (its
# built.json marker); otherwise takes the cache's build lock, checks again, and sets `staging` to a
# fresh directory (removed on exit) for publish_cache to move into place.
claim_cache() {
  local script="$1" dir="$2" result="$3"
  if [ -f "$dir/built.json" ]; then
    echo "$result"
    exit 0
  fi
  mkdir -p "$cache_root"
  exec 9>"$cache_root/build.lock"
  echo "$script: waiting for the build lock ($cache_root/build.lock)" >&2
  flock 9
  if [ -f "$dir/built.json" ]; then
    echo "$result"
    exit 0
  fi
  staging="$(mktemp -d "$cache_root/.building.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
}

# publish_cache DIR RESULT: replaces DIR with the staging directory and prints RESULT.
publish_cache() {
  rm -rf "$1"
  mv "$staging" "$1"
  trap - EXIT
  echo "$2"
}
