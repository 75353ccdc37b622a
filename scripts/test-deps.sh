#!/usr/bin/env bash
# Gets what the test suite needs that Go modules cannot bring: PostgreSQL's server
# binaries (throwaway clusters for the end-to-end and store tests). `make test` and
# .ci/run call it. As root (or with sudo) on Debian/Ubuntu it installs what is missing
# with apt-get; anywhere else it stops and says exactly what is missing and how to get
# it. GATEHOUSE_SKIP_POSTGRES=1 skips the PostgreSQL tests instead (loudly, counted).
set -euo pipefail

missing=()
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && ! command -v initdb >/dev/null 2>&1 &&
	! [[ -n "${GATEHOUSE_PG_BIN:-}" && -x "${GATEHOUSE_PG_BIN}/initdb" ]]; then
	if [[ "${GATEHOUSE_SKIP_POSTGRES:-}" == 1 ]]; then
		echo "!!!! PostgreSQL is missing and GATEHOUSE_SKIP_POSTGRES=1: the PostgreSQL tests will be SKIPPED" >&2
	else
		missing+=(postgresql)
	fi
fi

((${#missing[@]})) || exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo)
	else
		sudo=(none)
	fi
fi
if [[ "${sudo[*]}" == none ]] || ! command -v apt-get >/dev/null 2>&1; then
	cat >&2 <<MSG
The test suite needs: ${missing[*]}
  postgresql: PostgreSQL's server binaries (initdb, postgres), version 13 or newer.
              Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql;
              or point GATEHOUSE_PG_BIN at the directory that holds initdb and postgres.
To run without the PostgreSQL tests (they are then skipped and counted):
  GATEHOUSE_SKIP_POSTGRES=1 make test
MSG
	exit 1
fi

echo ">>> installing what the tests need: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
