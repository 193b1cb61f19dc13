"""ktc_results: the drift check's findings gathered from every device, and the drift check's and verify's results as
the node exporter's textfiles, read back with Prometheus' own parser."""

import importlib.util
import os

from prometheus_client.parser import text_string_to_metric_families

# Loaded from its file: plugins/filter on sys.path would shadow the module_utils of the same names.
_SPEC = importlib.util.spec_from_file_location("filter_ktc_results", os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter", "ktc_results.py"))
_FILTER = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_FILTER)
FILTERS = _FILTER.FilterModule().filters()

GROUPS = {"core_routers": ["core"], "access_switches": ["sw-a", "sw-cisco"], "ungrouped": ["localhost"]}


def samples(text):
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_drift_findings_name_each_device_and_role_and_the_ledger():
    hostvars = {
        "core": {"safe_apply_pending": {"firewall": ["live ruleset differs from /etc/nftables.conf"],
                                        "core_router": [], "dhcp_dns": ["/etc/kea/kea-dhcp4.conf", "/etc/unbound/unbound.conf"]}},
        "sw-a": {},
        "sw-cisco": {"access_switch_ios_commands": {"vlans": ["vlan 120"], "interfaces": [], "ports": ["interface Gi1/0/3"]}},
    }
    found = FILTERS["ktc_drift_findings"](hostvars, GROUPS, {"allocated": ["bapenda/staff vlan 105 10.40.3.0/26"]})
    assert found == [
        "ledger: not yet allocated bapenda/staff vlan 105 10.40.3.0/26",
        "core: dhcp_dns: /etc/kea/kea-dhcp4.conf, /etc/unbound/unbound.conf",
        "core: firewall: live ruleset differs from /etc/nftables.conf",
        "sw-cisco: access_switch: vlan 120 / interface Gi1/0/3",
    ]


def test_no_drift_is_no_line_and_zero_findings():
    assert FILTERS["ktc_drift_findings"]({"core": {}, "sw-a": {}, "sw-cisco": {}}, GROUPS, {}) == []
    text = FILTERS["ktc_drift_textfile"]([], 1764806400.7)
    assert samples(text) == {("ktc_drift_findings", ()): 0, ("ktc_drift_check_timestamp_seconds", ()): 1764806400}


def test_drift_textfile_counts_the_findings():
    assert samples(FILTERS["ktc_drift_textfile"](["a", "b", "c"], 1))[("ktc_drift_findings", ())] == 3


def test_verify_textfile_has_a_series_per_probed_device_only():
    hostvars = {
        "core": {"verify_probe": {"problems": ["kea: /etc/kea/kea-dhcp4.conf cannot be checked", "unbound: down"]}},
        "sw-a": {"verify_probe": {"problems": []}},
        # The Cisco switch's probe was skipped (no problems key); a device verify never reached has no result at all.
        "sw-cisco": {"verify_probe": {"skipped": True}},
    }
    assert samples(FILTERS["ktc_verify_textfile"](hostvars, GROUPS, 1764806400)) == {
        ("ktc_verify_problems", (("device", "core"),)): 2,
        ("ktc_verify_problems", (("device", "sw-a"),)): 0,
        ("ktc_verify_timestamp_seconds", ()): 1764806400,
    }
