#!/usr/bin/env bash
# Gets what the test suite needs that Go modules cannot bring:
#  - PostgreSQL's server binaries (throwaway clusters for the end-to-end and store tests).
#    As root (or with sudo) on Debian/Ubuntu it installs what is missing with apt-get;
#    anywhere else it stops and says exactly what is missing and how to get it.
#    GATEHOUSE_SKIP_POSTGRES=1 skips the PostgreSQL tests instead (loudly, counted).
#  - A MinIO server (a real S3 and STS for the credential-vending tests). It builds from Go
#    modules: `GOFLAGS=-mod=mod go install github.com/minio/minio@$MINIO_VERSION` (pinned below; a few minutes),
#    into $(go env GOPATH)/bin, where tests/harness finds it (or GATEHOUSE_MINIO_BIN, or
#    minio on PATH). GATEHOUSE_SKIP_MINIO=1 skips the MinIO tests instead (loudly).
#  - nginx with auth_request (Debian's nginx-light) for the ingress end-to-end tests, got
#    like PostgreSQL (apt-get as root or with sudo on Debian; otherwise it says what is
#    missing). tests/harness finds it on PATH, at /usr/sbin/nginx or at GATEHOUSE_NGINX_BIN.
#    GATEHOUSE_SKIP_NGINX=1 skips the nginx tests instead (loudly, counted).
# `make test` and .ci/run call it.
set -euo pipefail

# The MinIO release the credential tests were proved against (a pseudo-version: MinIO
# publishes no Go module tags); pinned so a new release cannot change what CI builds.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

# --- MinIO --------------------------------------------------------------------------------
have_minio() {
	if [[ -n "${GATEHOUSE_MINIO_BIN:-}" ]]; then
		[[ -x "${GATEHOUSE_MINIO_BIN}" ]]
		return
	fi
	command -v minio >/dev/null 2>&1 && return 0
	command -v go >/dev/null 2>&1 || return 1
	local gopath
	gopath="$(go env GOPATH)"
	[[ -x "${gopath%%:*}/bin/minio" ]]
}

if ! have_minio; then
	if [[ "${GATEHOUSE_SKIP_MINIO:-}" == 1 ]]; then
		echo "!!!! MinIO is missing and GATEHOUSE_SKIP_MINIO=1: the MinIO tests will be SKIPPED" >&2
	elif [[ -n "${GATEHOUSE_MINIO_BIN:-}" ]]; then
		echo "GATEHOUSE_MINIO_BIN=${GATEHOUSE_MINIO_BIN} is not an executable file" >&2
		exit 1
	elif ! command -v go >/dev/null 2>&1; then
		cat >&2 <<MSG
The test suite needs a MinIO server binary and there is no go command to build it.
  Install Go, then: GOFLAGS=-mod=mod go install github.com/minio/minio@${MINIO_VERSION}
  or point GATEHOUSE_MINIO_BIN at a minio binary,
  or run without the MinIO tests: GATEHOUSE_SKIP_MINIO=1 make test
MSG
		exit 1
	else
		echo ">>> building MinIO for the credential tests: GOFLAGS=-mod=mod go install github.com/minio/minio@${MINIO_VERSION}"
		echo ">>> (a few minutes on a small machine; progress below)"
		log="$(mktemp)"
		start=$SECONDS
		( cd "$(mktemp -d)" && GOFLAGS="-mod=mod ${GOFLAGS:-}" go install -v github.com/minio/minio@${MINIO_VERSION} ) >"$log" 2>&1 &
		pid=$!
		last=$SECONDS
		while kill -0 "$pid" 2>/dev/null; do
			sleep 2
			if ((SECONDS - last >= 20)); then
				last=$SECONDS
				echo ">>> MinIO build: $((SECONDS - start))s, $(grep -c . "$log" || true) packages and downloads so far"
			fi
		done
		if ! wait "$pid"; then
			tail -n 30 "$log" >&2
			cat >&2 <<MSG
Building MinIO failed (log above). Without it the MinIO tests fail. Options:
  - fix Go module access (GOPROXY, network), then rerun scripts/test-deps.sh;
  - point GATEHOUSE_MINIO_BIN at a minio binary;
  - run without the MinIO tests: GATEHOUSE_SKIP_MINIO=1 make test
MSG
			rm -f "$log"
			exit 1
		fi
		rm -f "$log"
		echo ">>> MinIO installed in $(go env GOPATH)/bin/minio after $((SECONDS - start))s"
	fi
fi

# --- PostgreSQL ---------------------------------------------------------------------------
missing=()
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && ! command -v initdb >/dev/null 2>&1 &&
	! [[ -n "${GATEHOUSE_PG_BIN:-}" && -x "${GATEHOUSE_PG_BIN}/initdb" ]]; then
	if [[ "${GATEHOUSE_SKIP_POSTGRES:-}" == 1 ]]; then
		echo "!!!! PostgreSQL is missing and GATEHOUSE_SKIP_POSTGRES=1: the PostgreSQL tests will be SKIPPED" >&2
	else
		missing+=(postgresql)
	fi
fi

# --- nginx (the ingress end-to-end tests: auth_request in front of a data service) --------
have_nginx() {
	if [[ -n "${GATEHOUSE_NGINX_BIN:-}" ]]; then
		[[ -x "${GATEHOUSE_NGINX_BIN}" ]]
		return
	fi
	command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]
}
if ! have_nginx; then
	if [[ "${GATEHOUSE_SKIP_NGINX:-}" == 1 ]]; then
		echo "!!!! nginx is missing and GATEHOUSE_SKIP_NGINX=1: the nginx tests will be SKIPPED" >&2
	elif [[ -n "${GATEHOUSE_NGINX_BIN:-}" ]]; then
		echo "GATEHOUSE_NGINX_BIN=${GATEHOUSE_NGINX_BIN} is not an executable file" >&2
		exit 1
	else
		missing+=(nginx-light)
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
  nginx-light: nginx with the auth_request module (the ingress tests run it unprivileged).
              Debian/Ubuntu: apt-get install nginx-light; macOS: brew install nginx;
              or point GATEHOUSE_NGINX_BIN at an nginx binary built with auth_request.
To run without the PostgreSQL tests (they are then skipped and counted):
  GATEHOUSE_SKIP_POSTGRES=1 make test
To run without the nginx tests (skipped and counted): GATEHOUSE_SKIP_NGINX=1 make test
MSG
	exit 1
fi

echo ">>> installing what the tests need: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
