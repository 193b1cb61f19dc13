#!/usr/bin/env bash
# Every test of the project, each stage timed. Expects scripts/setup.sh to have run (make test does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg

stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== stage $name: $*"
  "$@"
  echo "=== stage $name: done in $((SECONDS - start)) s"
}

stage yamllint yamllint --strict .
stage ansible-lint ansible-lint --profile production
stage ansible-doc scripts/check-docs.sh
# The controller tests (no VMs) on every core of the machine (pytest-xdist).
stage pytest pytest -q -n auto --durations=10 tests/unit tests/playbooks
# The virtual KTC end to end: create (image, boot), converge, idempotence, verify, destroy.
stage molecule molecule test -s ktc
