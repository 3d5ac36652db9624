#!/usr/bin/env bash
# Make sure PostgreSQL 15's server binaries are on this machine for the Postgres-mode tests
# (the tests start a throwaway cluster with initdb/pg_ctl on loopback themselves). Installs the
# Debian package when they are missing and we are root; says what to do otherwise.
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin
if [[ -x "$BIN/initdb" && -x "$BIN/pg_ctl" ]] && id postgres >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "PostgreSQL 15 is needed by the task tests: sudo apt-get install postgresql-15" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq postgresql-15 >&2
