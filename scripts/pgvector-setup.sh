#!/usr/bin/env bash
# A throwaway PostgreSQL 15 with pgvector for the store's tests (and for trying the
# PostgreSQL backend): installs Debian's postgresql-15, builds pgvector from Debian's
# source package (pgvector is packaged only for newer releases), and starts a cluster on
# 127.0.0.1:$PGPORT (default 54329) owned by the postgres user, trusting local connections.
# The server also speaks TLS, with a certificate for "localhost" signed by a throwaway CA
# (for the TLS tests: sslmode=verify-full needs a CA to trust and a name to check).
# Idempotent: a second run finds everything in place and only makes sure the server runs.
# Needs root. Prints EMBEDKIT_TEST_POSTGRES_URL=postgres://... and
# EMBEDKIT_TEST_POSTGRES_CA=<the CA's PEM file> on stdout, one per line (all else on stderr).
# Stop it with: su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $WORK/data -m fast stop"
set -euo pipefail
PGPORT=${PGPORT:-54329}
WORK=${EMBEDKIT_PG_WORK:-${TMPDIR:-/tmp}/embedkit-pg}
PGBIN=/usr/lib/postgresql/15/bin
if [ "$(id -u)" != 0 ]; then
  echo "pgvector-setup.sh needs root (it installs packages and runs the server as postgres)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The server's headers too: a machine can have postgresql-15 (and pg_config) without them.
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_config" ] \
  || [ ! -f /usr/include/postgresql/15/server/postgres.h ] || ! command -v make gcc >/dev/null; then
  echo "installing postgresql-15 and the tools to build pgvector" >&2
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-server-dev-15 make gcc >&2
fi
if [ ! -f /usr/share/postgresql/15/extension/vector.control ]; then
  echo "building pgvector from Debian's source package" >&2
  # Debian's own mirror (from the system's sources), with apt state kept private to $WORK:
  # the system's sources and lists are not touched.
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/src"
  echo "deb-src $MIRROR trixie main" > "$WORK/apt/sources.list"
  APTO=(-o Dir::Etc::sourcelist="$WORK/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
        -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache")
  apt-get "${APTO[@]}" update -qq >&2
  (cd "$WORK/src" && apt-get "${APTO[@]}" source --download-only pgvector >&2)
  rm -rf "$WORK"/src/pgvector-*/
  tar -xzf "$WORK"/src/pgvector_*.orig.tar.gz -C "$WORK/src"
  # OPTFLAGS="" drops -march=native, so the library runs on any x86-64 CPU.
  make -C "$WORK"/src/pgvector-*/ -s -j2 PG_CONFIG=$PGBIN/pg_config OPTFLAGS="" with_llvm=no >&2
  make -C "$WORK"/src/pgvector-*/ -s install PG_CONFIG=$PGBIN/pg_config with_llvm=no >&2
fi
# The server refuses to run as root: the cluster belongs to postgres.
install -d -o postgres -g postgres "$WORK" "$WORK/run"
if [ ! -f "$WORK/data/PG_VERSION" ]; then
  install -d -o postgres -g postgres "$WORK/data"
  su postgres -c "$PGBIN/initdb -D $WORK/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >&2
fi
if ! su postgres -c "$PGBIN/pg_ctl -D $WORK/data status" >/dev/null 2>&1; then
  # fsync=off: a test cluster (the tests kill the client, never the server); do not copy
  # this setting to a real database.
  su postgres -c "$PGBIN/pg_ctl -D $WORK/data -l $WORK/run/pg.log -w \
    -o '-c listen_addresses=127.0.0.1 -p $PGPORT -k $WORK/run -c fsync=off -c max_connections=200' start" >&2
fi
TLS=$WORK/tls
if [ ! -f "$TLS/server.key" ]; then
  echo "making a test CA and a server certificate for localhost" >&2
  install -d -m 755 "$TLS"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=embedkit test CA" -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$TLS/server.key.new" -out "$TLS/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    > "$TLS/server.ext"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" \
    -CAcreateserial -days 3650 -extfile "$TLS/server.ext" -out "$TLS/server.crt" 2>/dev/null
  chown postgres:postgres "$TLS/server.key.new" && chmod 600 "$TLS/server.key.new"
  mv "$TLS/server.key.new" "$TLS/server.key"
fi
# ALTER SYSTEM (one statement per -c: it cannot run inside a transaction) and a reload turn
# TLS on for a cluster made before it had a certificate, as well as for a new one.
if [ "$(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -Atc 'SHOW ssl')" != on ]; then
  psql -h 127.0.0.1 -p "$PGPORT" -U postgres -q \
    -c "ALTER SYSTEM SET ssl_cert_file = '$TLS/server.crt'" \
    -c "ALTER SYSTEM SET ssl_key_file = '$TLS/server.key'" \
    -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >&2
  for _ in $(seq 50); do
    [ "$(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -Atc 'SHOW ssl')" = on ] && break
    sleep 0.1
  done
fi
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -Atc \
  "CREATE EXTENSION IF NOT EXISTS vector; SELECT 'pgvector ' || extversion FROM pg_extension WHERE extname = 'vector'" >&2
echo "EMBEDKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PGPORT/postgres"
echo "EMBEDKIT_TEST_POSTGRES_CA=$TLS/ca.crt"
