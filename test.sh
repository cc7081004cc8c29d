#!/usr/bin/env bash
# Installs what the tests need when it is missing, builds everything, and runs every suite.
# Exits non-zero when anything fails. Usage: ./test.sh
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_system_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v haproxy >/dev/null || missing+=(haproxy)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    step "Installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_npm_packages() {
  # `npm ci` only when the lock file changed since the last install, so repeated runs stay fast.
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    step "Installing npm packages in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
}

dotnet_suites() {
  step "Building the .NET solution"
  dotnet build PubSub.sln -c Release -nologo -clp:ErrorsOnly

  step "Running the .NET test suites"
  # --blame-hang-timeout turns a hung test into a failure with a dump instead of a stuck run.
  dotnet test PubSub.sln -c Release --no-build -nologo \
    --blame-hang-timeout 4m \
    --logger "console;verbosity=minimal"
}

install_system_packages
install_npm_packages tests/interop
dotnet_suites

step "All suites passed"
