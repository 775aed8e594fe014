#!/usr/bin/env bash
# Makes sure the Docker Compose v2 plugin is installed, and that a statically linked docker
# CLI exists for the end-to-end test's FROM-scratch action image. No binary can be
# downloaded here, so both are built from the Go module proxy once and cached; later runs
# reuse the cached binaries.
#
# Prints nothing on stdout. The static binaries end up at $cache_dir/docker-static and
# $cache_dir/compose-static.
set -euo pipefail

compose_version=v5.6.0
cli_version=v29.8.2
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/apigate"
compose_cache="$cache_dir/docker-compose-$compose_version"
cli_cache="$cache_dir/docker-cli-$cli_version"
mkdir -p "$cache_dir"

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# The compose plugin, static (CGO_ENABLED=0) so that the same binary also serves the
# FROM-scratch action image. `go install pkg@version` refuses it (exclude directives), so it
# is built inside a throwaway module.
if [ ! -x "$compose_cache" ]; then
  echo "building the docker compose plugin $compose_version (about 2 minutes, once)" >&2
  (
    mkdir "$work/compose" && cd "$work/compose"
    go mod init composebuild >/dev/null 2>&1
    go get "github.com/docker/compose/v5/cmd@$compose_version" >/dev/null 2>&1
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o compose github.com/docker/compose/v5/cmd
  )
  mv "$work/compose/compose" "$compose_cache"
fi
cp "$compose_cache" "$cache_dir/compose-static.tmp"
mv "$cache_dir/compose-static.tmp" "$cache_dir/compose-static"
if ! docker compose version >/dev/null 2>&1; then
  mkdir -p "$plugin_dir"
  cp "$compose_cache" "$plugin_dir/docker-compose"
fi
docker compose version >&2

# A static docker CLI. Debian's /usr/bin/docker is linked against glibc, so it cannot run in
# a FROM-scratch image. docker/cli has no go.mod (it is CalVer, +incompatible): its
# vendor.mod is used as go.mod. One of its modules, github.com/tonistiigi/go-rosetta (which
# only answers "is this process running under Rosetta on macOS"), is not served by the
# proxy; it is replaced by a three-line local module that answers no, as the real one does
# on Linux.
if [ ! -x "$cli_cache" ]; then
  echo "building a static docker CLI $cli_version (about 1 minute, once)" >&2
  dir=$(cd "$work" && go mod download -json "github.com/docker/cli@$cli_version+incompatible" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp -r "$dir" "$work/cli"
  chmod -R u+w "$work/cli"
  mkdir "$work/rosetta"
  printf 'module github.com/tonistiigi/go-rosetta\n\ngo 1.18\n' >"$work/rosetta/go.mod"
  cat >"$work/rosetta/rosetta.go" <<'GO'
// Package rosetta stands in for github.com/tonistiigi/go-rosetta on Linux, where Apple's
// Rosetta never runs a process.
package rosetta

// Enabled reports whether the process runs under Rosetta: never on Linux.
func Enabled() bool { return false }

// Available reports whether Rosetta is installed: never on Linux.
func Available() bool { return false }
GO
  (
    cd "$work/cli"
    rm -rf vendor
    mv vendor.mod go.mod
    mv vendor.sum go.sum
    go mod edit -replace "github.com/tonistiigi/go-rosetta=$work/rosetta"
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/docker" ./cmd/docker
  )
  mv "$work/docker" "$cli_cache"
fi
cp "$cli_cache" "$cache_dir/docker-static.tmp"
mv "$cache_dir/docker-static.tmp" "$cache_dir/docker-static"
