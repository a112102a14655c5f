# Shared by scripts/demo and scripts/test. Source it; it changes to the repo root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs dependencies when node_modules is missing or older than the lock file.
ensure_installed() {
  command -v node >/dev/null || die "Node.js >= 20.19 is required (https://nodejs.org)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js >= 20.19 is required; this is $(node --version)"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
}

# The agent's ur-spawn helper (packages/agent/native) is C. Installs a
# compiler where one can (root with apt-get); elsewhere the build goes on
# without the helper and the agent forks with Node's spawn(), unless
# REQUIRE_SPAWN_HELPER=1 (scripts/test: the helper's tests need it).
ensure_c_compiler() {
  command -v "${CC:-cc}" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing a C compiler for the agent's spawn helper (apt-get install gcc libc6-dev)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null; then
      apt-get update -qq >/dev/null || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null || true
    fi
  fi
  command -v "${CC:-cc}" >/dev/null && return 0
  if [ "${REQUIRE_SPAWN_HELPER:-0}" = 1 ]; then
    die "no C compiler for packages/agent/native/ur-spawn.c. Install one (Debian/Ubuntu: apt-get install gcc) or set CC"
  fi
  say "no C compiler: building without the spawn helper (the agent will use Node's spawn())"
}

ensure_built() {
  ensure_c_compiler
  say "building"
  npm run --silent build
}

# True if something accepts TCP connections on host:port (bash's /dev/tcp, no extra tools).
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# host and port of an amqp:// or postgres:// URL (the port defaults to $2, else AMQP's)
url_host() { local u="${1#*://}"; u="${u#*@}"; u="${u%%/*}"; echo "${u%%:*}"; }
url_port() { local u="${1#*://}"; u="${u#*@}"; u="${u%%/*}"; case "$u" in *:*) echo "${u##*:}";; *) echo "${2:-5672}";; esac; }

wait_for_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 4; i++)); do port_open "$1" "$2" && return 0; sleep 0.25; done
  return 1
}

docker_engine() { command -v docker >/dev/null && timeout 3 docker info >/dev/null 2>&1; }

# Makes sure a RabbitMQ broker is reachable and exports UR_AMQP_URL.
# Order: UR_AMQP_URL if set; a local broker on 127.0.0.1:5672; with
# ALLOW_TESTCONTAINERS=1 and a Docker engine, nothing (the tests start a
# container); docker compose; a local rabbitmq-server; else instructions.
ensure_broker() {
  local url="${UR_AMQP_URL:-${AMQP_URL:-}}"
  if [ -n "$url" ]; then
    port_open "$(url_host "$url")" "$(url_port "$url")" || die "the broker at $url is not reachable"
    export UR_AMQP_URL="$url"
    return 0
  fi
  url="amqp://guest:guest@127.0.0.1:5672"
  if port_open 127.0.0.1 5672; then
    export UR_AMQP_URL="$url"
    return 0
  fi
  if docker_engine; then
    if [ "${ALLOW_TESTCONTAINERS:-0}" = 1 ]; then
      say "no local broker; the tests will start one with testcontainers"
      return 0
    fi
    say "starting RabbitMQ with docker compose"
    docker compose up -d rabbitmq
  elif command -v rabbitmq-server >/dev/null; then
    say "starting the local rabbitmq-server"
    rabbitmq-server -detached
  else
    die "no RabbitMQ broker found. Install one (Debian/Ubuntu: apt-get install rabbitmq-server), or Docker, or set UR_AMQP_URL"
  fi
  wait_for_port 127.0.0.1 5672 60 || die "RabbitMQ did not start listening on 127.0.0.1:5672 within 60 s"
  # The port opens before the broker accepts logins; give it a moment.
  sleep 2
  export UR_AMQP_URL="$url"
}

# Makes sure PostgreSQL is reachable for the tests (they create and drop their
# own databases) and exports UR_TEST_PG_URL. Order: UR_TEST_PG_URL if set; a
# server on 127.0.0.1:5432; the local cluster started with pg_ctlcluster; else
# instructions.
ensure_postgres() {
  local url="${UR_TEST_PG_URL:-}"
  if [ -n "$url" ]; then
    port_open "$(url_host "$url")" "$(url_port "$url" 5432)" || die "PostgreSQL at $url is not reachable"
    export UR_TEST_PG_URL="$url"
    return 0
  fi
  url="postgres://postgres@127.0.0.1:5432/postgres"
  if ! port_open 127.0.0.1 5432; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; then
      local version
      version="$(ls /etc/postgresql | sort -V | tail -1)"
      say "starting the local PostgreSQL $version"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start \
        || die "could not start PostgreSQL $version (pg_ctlcluster $version main start)"
      wait_for_port 127.0.0.1 5432 30 || die "PostgreSQL did not start listening on 127.0.0.1:5432 within 30 s"
    else
      die "no PostgreSQL on 127.0.0.1:5432. Install one (Debian/Ubuntu: apt-get install postgresql; allow trust or set a password) or set UR_TEST_PG_URL=postgres://USER@HOST:PORT/DB"
    fi
  fi
  export UR_TEST_PG_URL="$url"
}
