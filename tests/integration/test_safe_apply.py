"""Commit confirmed: a ruleset that cuts the controller off is undone by the host itself."""

import re

from conftest import CORE_NAME, converge, vm


def ruleset(core):
    """The filter table without its counters and without the addresses the guests' connection limit learnt."""
    return re.sub(r"(set guest_flows \{[^}]*?flags dynamic)\s*elements = \{[^}]*\}", r"\1",
                  core.check_output("nft -s list table inet ktc_filter"))


def test_ruleset_that_blocks_the_controller_is_rolled_back_by_the_host():
    core = vm(CORE_NAME)
    before = ruleset(core)
    assert '"eth0"' in before
    # The change under test: no interface of the controller may open SSH any more.
    returncode, output = converge(CORE_NAME, '{"firewall_controller_interfaces": [], "firewall_confirm_timeout": 20}')
    assert returncode != 0, output
    assert "ROLLBACK on %s" % CORE_NAME in output
    assert "cut the controller off" in output and "rolled back to its previous files" in output
    # The host is reachable again, on exactly the ruleset it had before.
    assert ruleset(core) == before
    assert "rolled back" in core.check_output("journalctl -t ktc-apply -q --since '-10min'")
