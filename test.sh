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
  # The cluster fixture runs redis-cli; apt's redis-server brings it, a redis-server from elsewhere may not.
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v haproxy >/dev/null || missing+=(haproxy)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # The metrics test scrapes a Host with a real Prometheus.
  command -v prometheus >/dev/null || missing+=(prometheus)
  if [ ${#missing[@]} -gt 0 ]; then
    step "Installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_npm_packages() {
  # `npm ci` only when package-lock.json differs from the one of the last install (its hash is kept in
  # node_modules), so repeated runs stay fast; a hash, not a timestamp, because checkouts and
  # worktree switches touch files without changing them.
  local dir=$1 lock stamp="$1/node_modules/.package-lock.sha256"
  lock=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock" ]; then
    step "Installing npm packages in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    echo "$lock" > "$stamp"
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

# ---- client-js (issue 7) -----------------------------------------------------------------------
# The TypeScript client: npm packages (only when package-lock.json changed), type check, build, the
# check that the bundle committed in the Host's wwwroot is a fresh build, the check of what
# `npm pack` would publish, then unit tests (fakes, and the protocol/ vectors),
# Node tests and headless-Chromium tests (both against real PubSub.Host processes, so the .NET
# build must have run first).
client_js_suite() {
  if ! command -v npm >/dev/null; then
    echo "client-js needs Node.js 20 or later with npm on PATH." >&2
    return 1
  fi
  install_npm_packages client-js
  (
    cd client-js
    step "client-js: type check, build, and the served bundle's freshness"
    npm run --silent typecheck
    npm run --silent build
    npm run --silent check:bundle

    step "client-js: the npm package (npm pack --dry-run: metadata, entry points, contents)"
    npm run --silent check:pack

    step "client-js: unit tests"
    npx vitest run --project unit

    step "client-js: Node tests against a real PubSub.Host"
    npx vitest run --project node

    step "client-js: browser tests in headless Chromium"
    npx vitest run --project browser
  )
}
# ---- end of client-js ----------------------------------------------------------------------------

install_system_packages
install_npm_packages tests/interop
dotnet_suites
client_js_suite

step "All suites passed"
