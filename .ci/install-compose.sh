#!/usr/bin/env bash
# Makes sure the Docker Compose v2 plugin is installed. No binary can be downloaded here, so
# it is built from the Go module proxy once and cached; later runs reuse the cached binary.
set -euo pipefail

version=v5.6.0
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/apigate/docker-compose-$version"

if docker compose version >/dev/null 2>&1; then
  exit 0
fi
if [ ! -x "$cache" ]; then
  echo "building the docker compose plugin $version (about 2 minutes, once)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init composebuild >/dev/null 2>&1
    go get "github.com/docker/compose/v5/cmd@$version" >/dev/null 2>&1
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o compose github.com/docker/compose/v5/cmd
  )
  mkdir -p "$(dirname "$cache")"
  mv "$work/compose" "$cache"
fi
mkdir -p "$plugin_dir"
cp "$cache" "$plugin_dir/docker-compose"
docker compose version >&2
