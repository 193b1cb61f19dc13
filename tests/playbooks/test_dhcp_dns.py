"""The DHCP and DNS role's refusals, on the controller: the main job in render mode (as scripts/render.sh runs it)
stops at the role's checks, before any file of Kea or Unbound exists. On a device the same checks run before the
role's bundle, so Kea's file and process are never touched (they used to be proved by two refused converges of the
lab's core: a minute of lab time for a check that never reaches the device)."""

import json
import os

import pytest

RENDER_ONLY = {"access_switch_ios_render_only": True, "dhcp_dns_threads": 2}
LEASES = {"office": 28800, "guest": 3600, "event": 1800, "services": 28800}


@pytest.mark.parametrize("field, value, message", [
    # Kea itself would take -1 as infinite.
    ("office", -1, "dhcp_dns_lease_time.office: -1 must be a whole number of seconds above 0, such as 3600"),
    # A string where Kea wants a number: the role's argument spec.
    ("guest", "x", "dhcp_dns_lease_time"),
])
def test_a_malformed_lease_time_is_refused_before_anything_of_kea_is_rendered(playbook, tmp_path, field, value,
                                                                              message):
    rendered = tmp_path / "rendered"
    run = playbook("site.yml", check=True, limit="localhost,core",
                   extra_vars=dict(RENDER_ONLY, safe_apply_render_dir=str(rendered),
                                   dhcp_dns_lease_time=dict(LEASES, **{field: value})))
    assert run.returncode != 0 and run.data["stats"]["core"]["failures"] == 1
    assert message in json.dumps(run.data), json.dumps(run.data)[-3000:]
    assert os.path.isdir(rendered / "core" / "etc" / "systemd" / "network")      # the roles before it did render
    assert not os.path.exists(rendered / "core" / "etc" / "kea") and not os.path.exists(rendered / "core" / "etc" / "unbound")
