"""ktc_metrics, the filter (plugins/filter/ktc_metrics.py) over the library: everything the metrics role installs on core, from the lab's model, accepted by the
tools core validates it with (promtool, amtool); and every value from the inventory refused, naming its field, before
it reaches a file (a threshold is printed into a PromQL expression, the retention into the daemon's arguments)."""

import importlib.util
import os
import shutil
import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError

import ktc_metrics as metrics

from test_ktc_metrics import lab  # noqa: F401  pylint: disable=unused-import  (the lab's facts and config, a fixture)

# Loaded from its file: plugins/filter on sys.path would shadow the module_utils of the same name.
_SPEC = importlib.util.spec_from_file_location("filter_ktc_metrics", os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter", "ktc_metrics.py"))
_FILTER = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_FILTER)
ktc_metrics = _FILTER.ktc_metrics

UPLINKS = [{"name": "primary", "interface": "eth1"}, {"name": "backup", "interface": "eth2"}]
WEBHOOK = {"webhook": "http://10.40.0.5:9099/alerts"}
TOKEN = "123456789:" + "A" * 35


def configure(lab, **options):  # noqa: F811
    facts, _config = lab
    return ktc_metrics({"core": {"segments": facts}}, UPLINKS, [], dict({"receivers": WEBHOOK}, **options))


def check(tool, arguments, data, tmp_path):
    path = tmp_path / "file.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert shutil.which(tool), "%s is missing: scripts/setup.sh puts it in the venv" % tool
    run = subprocess.run([tool] + arguments + [str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_file_is_accepted_by_the_tool_core_checks_it_with(lab, tmp_path):  # noqa: F811
    found = configure(lab, address="10.40.255.1", port=9500, scrape_interval="30s", retention="2y",
                      timing={"group_wait": "10s", "group_interval": None})
    check("promtool", ["check", "config", "--syntax-only"], found["prometheus"], tmp_path)
    check("promtool", ["check", "rules"], found["rules"], tmp_path)
    check("amtool", ["check-config"], found["alertmanager"], tmp_path)
    assert found["prometheus"]["global"]["scrape_interval"] == "30s"
    # The exporter and the page on core's management address (the firewall opens it to the NOC), scraped there.
    assert found["prometheus"]["scrape_configs"][0]["static_configs"] == [{"targets": ["10.40.255.1:9500"]}]
    assert found["exporter"]["listen"] == ["10.40.255.1", 9500]
    assert found["exporter"]["prometheus"] == "http://127.0.0.1:9090"
    # Alertmanager's timing: what the inventory says, the defaults for the rest.
    assert [found["alertmanager"]["route"][key] for key in ("group_wait", "group_interval", "repeat_interval")] == [
        "10s", "5m", "4h"]
    # Every daemon on loopback; Prometheus keeps what it was told.
    assert "--storage.tsdb.retention.time=2y" in found["args"]["prometheus"]
    assert all("--web.listen-address=127.0.0.1:" in args for args in found["args"].values())


@pytest.mark.parametrize("options, message", [
    ({"thresholds": {"pool_full_ratio": "0.9 or vector(1)"}},
     "metrics_alert_thresholds.pool_full_ratio: '0.9 or vector(1)' must be a number above 0 up to 1"),
    ({"thresholds": {"ceiling_for": "15m\n- alert: X"}}, "metrics_alert_thresholds.ceiling_for"),
    ({"thresholds": {"pool_full": 0.8}}, "metrics_alert_thresholds.pool_full is not a threshold"),
    ({"thresholds": {"event_notice_seconds": True}}, "metrics_alert_thresholds.event_notice_seconds"),
    ({"scrape_interval": "15s --web.enable-admin-api"}, "metrics_scrape_interval"),
    ({"retention": "400d --web.enable-admin-api"}, "metrics_retention: '400d --web.enable-admin-api' must be"),
    ({"port": 80}, "metrics_port: 80 must be a port from 1024 to 65535"),
    ({"port": "9469 --web.enable-admin-api"}, "metrics_port: '9469 --web.enable-admin-api' must be a port"),
    ({"address": "0.0.0.0/0"}, "ktc_management_address: '0.0.0.0/0' is not an IPv4 address"),
    ({"receivers": {}}, "metrics: no alert receiver"),
    ({"timing": {"group_wait": "10s\nreceivers: []"}}, "metrics_alert_timing.group_wait"),
    ({"timing": {"repeat": "1h"}}, "metrics_alert_timing.repeat is not a setting"),
    ({"receivers": {"webhook": "http://x/$(reboot)"}}, "metrics_alert_webhook"),
])
def test_a_bad_value_from_the_inventory_is_refused_naming_its_field(lab, options, message):  # noqa: F811
    with pytest.raises(AnsibleFilterError) as raised:
        configure(lab, **options)
    assert message in str(raised.value)


def test_a_bad_bot_token_is_refused_without_printing_it(lab):  # noqa: F811
    secret = "123456789:short-secret"
    with pytest.raises(AnsibleFilterError) as raised:
        configure(lab, receivers={"telegram": {"bot_token": secret, "chat_id": -100123}})
    assert "metrics_alert_telegram.bot_token" in str(raised.value) and secret not in str(raised.value)
    found = configure(lab, receivers={"telegram": {"bot_token": TOKEN, "chat_id": -100123}})
    assert found["alertmanager"]["receivers"][0]["telegram_configs"][0]["chat_id"] == -100123


def test_the_thresholds_reach_the_rules(lab):  # noqa: F811
    rules = configure(lab, thresholds={"pool_full_ratio": 0.75, "pool_full_for": "10m"})["rules"]["groups"][0]["rules"]
    pool = next(rule for rule in rules if rule["alert"] == "KtcDhcpPoolNearlyFull")
    assert pool["expr"].endswith("> 0.75") and pool["for"] == "10m"
    assert metrics.ALERT_DEFAULTS["pool_full_ratio"] == 0.9          # the defaults themselves are untouched
