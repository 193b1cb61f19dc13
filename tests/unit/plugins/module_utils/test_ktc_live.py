"""Unit tests of the live-state checks: the normalised nftables listing (captured from the lab's core) keeps every
rule and static element and drops only run-time state, so a rule inserted by hand shows and a counter never does."""

import os

import ktc_live

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "nft-ruleset-core.txt")


def listing():
    with open(FIXTURE) as handle:
        return handle.read()


def test_counters_and_the_elements_rules_add_at_run_time_are_left_out():
    text = listing()
    busy = text.replace("counter packets 0 bytes 0", "counter packets 81234 bytes 99123456").replace(
        "\t\tflags dynamic\n", "\t\tflags dynamic\n\t\telements = { 10.40.0.23 ct count over 512,\n"
                               "\t\t\t     10.40.0.24 ct count over 512 }\n")
    assert busy != text
    assert ktc_live.normalise_nft(busy) == ktc_live.normalise_nft(text)
    assert "counter packets" not in ktc_live.normalise_nft(text)


def test_rules_and_static_elements_are_kept():
    normalised = ktc_live.normalise_nft(listing())
    assert "elements = { 10.40.2.78 . 6 . 443 }" in normalised
    assert "tcp dport 22 ip saddr @noc_nets accept" in normalised
    assert normalised.count("\n") >= listing().count("\n") - 2


def test_a_rule_inserted_by_hand_differs_and_the_summary_names_it():
    intended = ktc_live.normalise_nft(listing())
    live = ktc_live.normalise_nft(listing().replace(
        "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n",
        "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\taccept\n", 1))
    assert live != intended
    result = {"check": "nftables", "what": "live ruleset", "differs": True, "live": live, "intended": intended}
    line = ktc_live.summary(result, "/etc/nftables.conf")
    assert line.startswith("live ruleset differs from /etc/nftables.conf (- live, + repository): -accept"), line


def test_a_deleted_table_differs():
    text = listing()
    start = text.index("table ip ktc_nat {")
    end = text.index("\n}\n", start) + 3
    result = {"check": "nftables", "what": "live ruleset", "differs": True,
              "live": ktc_live.normalise_nft(text[:start] + text[end:]), "intended": ktc_live.normalise_nft(text)}
    assert result["live"] != result["intended"]
    assert "+table ip ktc_nat {" in ktc_live.summary(result, "/etc/nftables.conf", lines=50)
