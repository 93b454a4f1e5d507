#!/usr/bin/env bash
# Installs what the real-service tests need on a Debian machine without Docker:
# redis-server, PgBouncer and PostgreSQL with the pgvector extension (built from
# Debian's own source package, since bookworm does not ship pgvector).
# Idempotent: every step is skipped when its result is already there.
set -euo pipefail

log() { printf '[install-test-services] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    log "not root and no sudo: install redis-server, postgresql and pgvector yourself, or set TEST_DATABASE_URL / TEST_REDIS_URL"
    exit 1
  fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get here: install PostgreSQL with pgvector and redis-server yourself, or set TEST_DATABASE_URL / TEST_REDIS_URL"
  exit 1
fi

apt_updated=0
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq >/dev/null
    apt_updated=1
  fi
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && echo "$d"
  done | sort -V | tail -n 1
}

# --- PostgreSQL server -------------------------------------------------------
if [ -z "$(pg_bindir)" ]; then
  apt_update
  log "installing postgresql"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(pg_bindir)"
PG_MAJOR="$(basename "$(dirname "$PG_BIN")")"
SHAREDIR="$("$PG_BIN/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$PG_MAJOR")"

# --- pgvector ---------------------------------------------------------------
if [ ! -f "$SHAREDIR/extension/vector.control" ]; then
  apt_update
  if apt-cache show "postgresql-$PG_MAJOR-pgvector" >/dev/null 2>&1; then
    log "installing postgresql-$PG_MAJOR-pgvector"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-$PG_MAJOR-pgvector" >/dev/null
  else
    log "building pgvector from Debian's source package"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-server-dev-$PG_MAJOR" dpkg-dev make gcc >/dev/null
    SRC_LIST=/etc/apt/sources.list.d/stratum-pgvector-src.list
    if [ ! -f "$SRC_LIST" ]; then
      echo "deb-src http://deb.debian.org/debian trixie main" | $SUDO tee "$SRC_LIST" >/dev/null
      apt_updated=0
    fi
    apt_update
    build_dir="$(mktemp -d)"
    (
      cd "$build_dir"
      apt-get source -qq pgvector >/dev/null 2>&1
      cd pgvector-*/
      make -s PG_CONFIG="$PG_BIN/pg_config" >/dev/null
      $SUDO make -s install PG_CONFIG="$PG_BIN/pg_config" >/dev/null
    )
    rm -rf "$build_dir"
  fi
  log "pgvector installed into $SHAREDIR/extension"
fi

# --- Redis -------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  apt_update
  log "installing redis-server"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  # The package starts a system service on 6379; tests start their own servers.
  ($SUDO service redis-server stop || true) >/dev/null 2>&1
fi

# --- PgBouncer (the pooler tests run through it in transaction mode) ----------
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  apt_update
  log "installing pgbouncer"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >/dev/null
  ($SUDO service pgbouncer stop || true) >/dev/null 2>&1
fi

log "ready: postgres $PG_MAJOR ($PG_BIN), pgvector, $(redis-server --version | cut -d' ' -f3)"
