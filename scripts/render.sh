#!/usr/bin/env bash
# Render every file each role would install on every host of a scenario, on the controller, without any device:
# playbooks/site.yml in check mode with the roles' render switches (safe_apply_render_dir, Cisco state rendered).
#   scripts/render.sh SCENARIO DIR     renders into DIR/SCENARIO (lab, lab-event, lab-pair, production, production-star)
#   scripts/render.sh --golden         renders every scenario into tests/render/ (the committed expected files)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
SCENARIOS=(lab lab-event lab-pair production)

render() {
  local scenario=$1 out=$2 inventory=inventories/${1%%-*} extra=()
  case $scenario in
    lab|production) ;;
    lab-event) extra=(-e "ktc_events_path=$PWD/tests/render/lab-event.events.yml") ;;
    # The lab with a pair of core servers (ktc_site.cores): each server's files, keepalived's among them.
    lab-pair) inventory=inventories/lab-pair ;;
    # Production wired as a star (before the backbone): the rehearsal of the move to the tree, not a golden scenario.
    production-star) inventory=tests/render/production-star.inventory ;;
    *) echo "render: unknown scenario $scenario (known: ${SCENARIOS[*]})" >&2; return 2 ;;
  esac
  rm -rf "$out" && mkdir -p "$out"
  # Unbound's thread count is the one fact read from a device: fixed here so the output does not depend on it.
  ansible-playbook -i "$inventory" playbooks/site.yml --check "${extra[@]}" \
    -e "safe_apply_render_dir=$out" -e '{"access_switch_ios_render_only": true}' -e "access_switch_ios_render_dir=$out" \
    -e dhcp_dns_threads=2 > "$out.log" 2>&1 || { cat "$out.log" >&2; return 1; }
  rm -f "$out.log"
  # Byte copies of the repository's own files (the exporter and its library, plugins/module_utils), tested there; the
  # bundle's manifest (ktc-bundle-metrics.txt) still lists them.
  rm -rf "$out"/*/usr/local/lib/ktc "$out"/*/usr/local/sbin/ktc-exporter
}

if [ "${1:-}" = --golden ]; then
  for scenario in "${SCENARIOS[@]}"; do render "$scenario" "$PWD/tests/render/$scenario"; echo "rendered tests/render/$scenario"; done
else
  render "$1" "$(realpath -m "$2")/$1"
fi
