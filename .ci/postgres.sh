#!/usr/bin/env bash
# Installs (if needed) and starts a local PostgreSQL for the store tests, then
# prints the export line for PARLEY_TEST_POSTGRES_URL. Safe to run repeatedly.
# Debian 12 ships PostgreSQL 15; run as root.
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_USER="${PG_USER:-parley}"
PG_PASSWORD="${PG_PASSWORD:-parley}"
PG_DB="${PG_DB:-parley}"
PG_PORT="${PG_PORT:-5432}"

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d "/usr/lib/postgresql/${PG_VERSION}" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
fi

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "${PG_VERSION} main"; then
	pg_createcluster "${PG_VERSION}" main >&2
fi

if ! pg_lsclusters -h | awk -v v="${PG_VERSION}" '$1==v && $2=="main" {print $4}' | grep -qx online; then
	pg_ctlcluster "${PG_VERSION}" main start >&2
fi

# Wait until the server accepts connections.
for _ in $(seq 1 30); do
	if su postgres -c "pg_isready -q -p ${PG_PORT}"; then
		break
	fi
	sleep 1
done
su postgres -c "pg_isready -q -p ${PG_PORT}"

role_exists=$(su postgres -c "psql -p ${PG_PORT} -tAc \"SELECT 1 FROM pg_roles WHERE rolname='${PG_USER}'\"")
if [ "${role_exists}" != "1" ]; then
	su postgres -c "psql -p ${PG_PORT} -qc \"CREATE ROLE ${PG_USER} LOGIN PASSWORD '${PG_PASSWORD}' SUPERUSER\"" >&2
fi

db_exists=$(su postgres -c "psql -p ${PG_PORT} -tAc \"SELECT 1 FROM pg_database WHERE datname='${PG_DB}'\"")
if [ "${db_exists}" != "1" ]; then
	su postgres -c "createdb -p ${PG_PORT} -O ${PG_USER} ${PG_DB}" >&2
fi

echo "export PARLEY_TEST_POSTGRES_URL='postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/${PG_DB}?sslmode=disable'"
