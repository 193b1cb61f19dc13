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

# The lab's VM image (minutes on a fresh machine, mostly downloads and dpkg) is built while the controller stages
# run; molecule's create then finds it in the cache.
mkdir -p .lab
image_start=$SECONDS
scripts/lab/build-image.sh > .lab/build-image.log 2>&1 &
image_build=$!
trap 'kill "$image_build" 2>/dev/null || true' EXIT      # a failed stage stops the build too

stage yamllint yamllint --strict .
stage ansible-lint ansible-lint --profile production
stage ansible-doc scripts/check-docs.sh
# The controller tests (no VMs) on every core of the machine (pytest-xdist).
stage pytest pytest -q -n auto --durations=10 tests/unit tests/playbooks
if ! wait "$image_build"; then cat .lab/build-image.log >&2; echo "=== the lab image did not build" >&2; exit 1; fi
echo "=== lab image ready $((SECONDS - image_start)) s after it started (built beside the stages above)"
# The virtual KTC end to end: create (image, boot), converge, idempotence, verify, destroy.
stage molecule molecule test -s ktc
