"""The alerting rules of ktc_metrics.alert_rules, for the lab's site, checked and run by Prometheus' own promtool
(`promtool check rules`, `promtool test rules`: series fed minute by minute, the alerts that fire compared), each
alert with a control that must not fire."""

import shutil
import subprocess

import pytest
import yaml

import ktc_metrics

from test_ktc_metrics import lab  # noqa: F401  pylint: disable=unused-import  (the lab's config, a fixture)

PROMTOOL = shutil.which("promtool")
OFFICE = 'office="dukcapil",segment="wifi",kind="guest"'
CLASS = 'uplink="primary",direction="download",office="%s",kind="office"'


@pytest.fixture
def rules(lab, tmp_path):  # noqa: F811
    assert PROMTOOL, "promtool is missing: scripts/setup.sh puts it in the venv"
    _facts, config = lab
    path = tmp_path / "ktc.rules.yml"
    path.write_text(yaml.safe_dump(ktc_metrics.alert_rules(config), sort_keys=False))
    return path


def promtool_test(rules, tmp_path, series, alerts):
    """Run `promtool test rules` on ``series`` ({series: values}) sampled each minute, expecting ``alerts``
    ([(eval_time, alertname, [(labels, summary in English, summary in Bahasa Indonesia)...])])."""
    by_check = {}
    for eval_time, name, expected in alerts:
        by_check.setdefault((eval_time, name), []).extend(expected)
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": name, "values": values} for name, values in series.items()],
        "alert_rule_test": [{"eval_time": eval_time, "alertname": name,
                             "exp_alerts": [{"exp_labels": labels,
                                             "exp_annotations": {"summary": summary, "summary_id": summary_id}}
                                            for labels, summary, summary_id in expected]}
                            for (eval_time, name), expected in by_check.items()]}]}
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    completed = subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_rules_pass_promtools_check(rules):
    completed = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert completed.returncode == 0 and "SUCCESS: 7 rules found" in completed.stdout, completed.stdout + completed.stderr


def test_a_pool_above_90_percent_for_5_minutes_fires_naming_its_segment(rules, tmp_path):
    series = {"ktc_dhcp_addresses_assigned{%s}" % OFFICE: "55x20", "ktc_dhcp_addresses_total{%s}" % OFFICE: "60x20",
              'ktc_dhcp_addresses_assigned{office="bkpsdm",segment="staff",kind="office"}': "54x20",
              'ktc_dhcp_addresses_total{office="bkpsdm",segment="staff",kind="office"}': "60x20"}
    fired = (dict(severity="warning", office="dukcapil", segment="wifi", kind="guest"),
             "dukcapil/wifi: DHCP pool 91.67% used", "dukcapil/wifi: pool DHCP terpakai 91.67%")
    promtool_test(rules, tmp_path, series, [("4m", "KtcDhcpPoolNearlyFull", []),
                                            ("5m", "KtcDhcpPoolNearlyFull", [fired])])


def test_the_preferred_uplink_out_of_use_for_a_minute_fires(rules, tmp_path):
    series = {'ktc_uplink_active{family="ipv4",uplink="primary"}': "1 1 0 0 0 0",
              'ktc_uplink_active{family="ipv4",uplink="backup"}': "0 0 1 1 1 1",
              'ktc_uplink_active{family="ipv6",uplink="primary"}': "0x5"}   # IPv6 has its own probes: no alert
    fired = (dict(severity="critical", family="ipv4", uplink="primary"),
             "KTC runs without its primary uplink: the monitor moved the traffic away from it",
             "KTC berjalan tanpa uplink primary: monitor memindahkan lalu lintas darinya")
    promtool_test(rules, tmp_path, series, [("2m", "KtcUplinkFailedOver", []),
                                            ("3m", "KtcUplinkFailedOver", [fired])])


def test_an_office_at_its_ceiling_for_15_minutes_fires_and_one_at_half_does_not(rules, tmp_path):
    # 10 Mbit/s is 75 MB a minute.
    series = {"ktc_shaping_bytes_total{%s}" % (CLASS % "dukcapil"): "0+75000000x40",
              "ktc_shaping_ceiling_bits_per_second{%s}" % (CLASS % "dukcapil"): "10000000x40",
              "ktc_shaping_bytes_total{%s}" % (CLASS % "bkpsdm"): "0+37500000x40",
              "ktc_shaping_ceiling_bits_per_second{%s}" % (CLASS % "bkpsdm"): "10000000x40"}
    fired = (dict(severity="info", uplink="primary", direction="download", office="dukcapil", kind="office"),
             "dukcapil uses its whole ceiling (download, primary)",
             "dukcapil memakai seluruh batas atasnya (download, primary)")
    promtool_test(rules, tmp_path, series, [("10m", "KtcOfficeAtCeiling", []),
                                            ("20m", "KtcOfficeAtCeiling", [fired])])


def test_a_class_dropping_packets_for_10_minutes_fires(rules, tmp_path):
    series = {"ktc_shaping_drops_total{%s}" % (CLASS % "dukcapil"): "0+100x30",
              "ktc_shaping_packets_total{%s}" % (CLASS % "dukcapil"): "0+1000x30",
              "ktc_shaping_drops_total{%s}" % (CLASS % "bkpsdm"): "0+1x30",
              "ktc_shaping_packets_total{%s}" % (CLASS % "bkpsdm"): "0+1000x30"}
    fired = (dict(severity="warning", uplink="primary", direction="download", office="dukcapil", kind="office"),
             "dukcapil loses 10% of its packets in its class (download, primary)",
             "dukcapil kehilangan 10% paketnya di kelasnya (download, primary)")
    promtool_test(rules, tmp_path, series, [("5m", "KtcClassLosingPackets", []),
                                            ("15m", "KtcClassLosingPackets", [fired])])


def test_a_collector_or_target_down_fires_naming_it(rules, tmp_path):
    series = {'ktc_collector_up{collector="dhcp"}': "1 0 0 0 0 0", 'ktc_collector_up{collector="dns"}': "1x5",
              'up{job="node",instance="core"}': "1 1 0 0 0 0", 'up{job="ktc",instance="core"}': "1x5"}
    promtool_test(rules, tmp_path, series, [("2m", "KtcServiceDown", []), ("4m", "KtcServiceDown", [
        (dict(severity="critical", collector="dhcp"), "dhcp on core does not answer", "dhcp di core tidak menjawab"),
        (dict(severity="critical", job="node", instance="core"), "node on core does not answer",
         "node di core tidak menjawab")])])


def test_drift_found_by_the_last_check_fires_at_once(rules, tmp_path):
    promtool_test(rules, tmp_path, {"ktc_drift_findings": "0 3 0"}, [
        ("0m", "KtcDriftDetected", []),
        ("1m", "KtcDriftDetected", [(dict(severity="warning"), "The last drift check found 3 difference(s) from the "
                                     "repository: run the main job or fix the repository", "Pemeriksaan drift terakhir "
                                     "menemukan 3 perbedaan dari repositori: jalankan job utama atau perbaiki repositori")]),
        ("2m", "KtcDriftDetected", [])])


def test_an_event_ending_within_the_hour_fires_until_it_ends(rules, tmp_path):
    # promtool's clock starts at Unix time 0: one event ends at 50 min, the other at 2 h.
    series = {'ktc_event_ends_timestamp_seconds{office="bkpsdm",event="cat-asn-1"}': "3000x200",
              'ktc_event_ends_timestamp_seconds{office="dukcapil",event="tes-2"}': "7200x200"}
    soon = (dict(severity="info", office="bkpsdm", event="cat-asn-1"),
            "Event cat-asn-1 of bkpsdm ends in 50m 0s: close it then (AWX: KTC event, close)",
            "Acara cat-asn-1 milik bkpsdm berakhir dalam 50m 0s: tutup saat itu (AWX: KTC event, close)")
    later = (dict(severity="info", office="dukcapil", event="tes-2"),
             "Event tes-2 of dukcapil ends in 59m 0s: close it then (AWX: KTC event, close)",
             "Acara tes-2 milik dukcapil berakhir dalam 59m 0s: tutup saat itu (AWX: KTC event, close)")
    promtool_test(rules, tmp_path, series, [("0m", "KtcEventEndingSoon", [soon]),
                                            ("61m", "KtcEventEndingSoon", [later]),
                                            ("121m", "KtcEventEndingSoon", [])])


def test_an_events_end_is_read_in_the_sites_time_zone(lab):  # noqa: F811
    facts, _config = lab
    config = ktc_metrics.exporter_config(facts, [{"name": "primary", "interface": "eth1"}], events=[
        {"office": "bkpsdm", "name": "cat-asn-1", "ends": "2026-12-03 17:00"}], timezone="Asia/Makassar")
    assert config["events"] == [{"office": "bkpsdm", "event": "cat-asn-1", "ends": 1796288400}]   # 09:00 UTC
    assert ("ktc_event_ends_timestamp_seconds", {"office": "bkpsdm", "event": "cat-asn-1"}, 1796288400) in \
        ktc_metrics.event_samples(config)


def test_a_pair_server_whose_leases_are_not_shared_or_that_stays_unready_fires_naming_it(lab, tmp_path):  # noqa: F811
    _facts, config = lab
    path = tmp_path / "pair.rules.yml"
    path.write_text(yaml.safe_dump(ktc_metrics.alert_rules(dict(config, pair={"server": "core2", "ready_file": "/r"})),
                                   sort_keys=False))
    completed = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert "SUCCESS: 9 rules found" in completed.stdout, completed.stdout + completed.stderr
    series = {'ktc_dhcp_ha_state{server="core2",state="partner-down"}': "1x10",
              'ktc_dhcp_ha_state{server="core",state="hot-standby"}': "1x10",   # in sync: no alert
              'ktc_core_ready{server="core"}': "0x40",
              'ktc_core_ready{server="core2"}': "1x40"}
    leases = (dict(severity="critical", server="core2", state="partner-down"),
              "core2: Kea's HA is in partner-down, the leases are not shared with the other core server: if it fails, "
              "its clients' leases are not on this one",
              "core2: HA Kea dalam keadaan partner-down, lease tidak dibagi dengan server core lainnya: jika server itu "
              "gagal, lease kliennya tidak ada di server ini")
    unready = (dict(severity="warning", server="core"),
               "core stands by and will not take the gateways back (readiness 0: 0 not converged since it started, "
               "-1 freed for maintenance): run the main job (KTC converge)",
               "core bersiaga dan tidak akan mengambil kembali gateway (kesiapan 0: 0 belum di-converge sejak menyala, "
               "-1 dibebaskan untuk pemeliharaan): jalankan job utama (KTC converge)")
    promtool_test(path, tmp_path, series, [("4m", "KtcCorePairLeasesNotShared", []),
                                           ("5m", "KtcCorePairLeasesNotShared", [leases]),
                                           ("29m", "KtcCoreNotReady", []), ("30m", "KtcCoreNotReady", [unready])])
