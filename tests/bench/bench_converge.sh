#!/usr/bin/env bash
# Benchmark (not a test): a full converge and a no-op rerun of playbooks/site.yml on the virtual KTC, with
# the project's Ansible settings (ansible.cfg: pipelining, ControlPersist 300 s) and with stock settings
# (the same paths, everything else Ansible's defaults), side by side. Each mode starts from a fresh lab
# (lab down, lab up), so both full converges do the same work. Prints seconds and ratios; fails if a
# no-op rerun reports changes.
#   make bench-converge      (about 15 minutes on 2 cores; needs no running lab, leaves none running)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
export PATH=$REPO/.venv/bin:$PATH
LAB="python scripts/lab/lab.py"
STOCK=$(mktemp --suffix=.cfg)
trap 'rm -f "$STOCK"; $LAB down > /dev/null' EXIT
cat > "$STOCK" <<CFG
[defaults]
inventory = $REPO/inventories/lab
roles_path = $REPO/roles
library = $REPO/plugins/modules
module_utils = $REPO/plugins/module_utils
filter_plugins = $REPO/plugins/filter
host_key_checking = False
[inventory]
ignore_patterns = ipam.yml
CFG

declare -A seconds
run() {  # run MODE LABEL: time site.yml, keep its recap
  local mode=$1 label=$2 cfg=$REPO/ansible.cfg start
  [ "$mode" = stock ] && cfg=$STOCK
  start=$(date +%s.%N)
  ANSIBLE_CONFIG=$cfg ansible-playbook -i inventories/lab playbooks/site.yml > "/tmp/bench-converge-$mode-$label.log" 2>&1
  seconds[$mode-$label]=$(echo "$(date +%s.%N) - $start" | bc)
  echo "$mode $label: ${seconds[$mode-$label]} s"
}

for mode in project stock; do
  $LAB down > /dev/null
  $LAB up > /dev/null
  run "$mode" full
  run "$mode" noop
  if grep -E '^[a-z0-9-]+ +: ok=' "/tmp/bench-converge-$mode-noop.log" | grep -vq 'changed=0 '; then
    echo "FAIL: the no-op rerun ($mode) changed something:"; grep -E ': ok=' "/tmp/bench-converge-$mode-noop.log"; exit 1
  fi
done

echo
printf '%-10s %12s %12s\n' run project_s stock_s
for label in full noop; do
  printf '%-10s %12.1f %12.1f   stock/project %.2fx\n' "$label" "${seconds[project-$label]}" \
    "${seconds[stock-$label]}" "$(echo "${seconds[stock-$label]} / ${seconds[project-$label]}" | bc -l)"
done
echo "no-op reruns: changed=0 on every host in both modes ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
