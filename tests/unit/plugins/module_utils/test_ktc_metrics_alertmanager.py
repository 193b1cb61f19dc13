"""Alertmanager's configuration from the alert receivers (e-mail, a Telegram group, a webhook), checked by Debian's
amtool; a bad receiver is refused naming its field, and a secret is never printed in the refusal."""

import shutil
import subprocess

import pytest
import yaml

import ktc_metrics

AMTOOL = shutil.which("amtool")
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_"
EMAIL = {"to": "noc@sumbawabaratkab.go.id", "from": "ktc-core@sumbawabaratkab.go.id",
         "smarthost": "mail.sumbawabaratkab.go.id:587", "username": "ktc-core", "password": "s3cret"}


def amtool_check(config, tmp_path):
    assert AMTOOL, "amtool is missing: scripts/setup.sh puts it in the venv"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    completed = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True)
    return completed.returncode, completed.stdout + completed.stderr


def test_email_telegram_and_a_webhook_pass_amtool(tmp_path):
    config = ktc_metrics.alertmanager_config({"email": EMAIL, "telegram": {"bot_token": TOKEN, "chat_id": -1001234567890},
                                              "webhook": "http://10.40.0.5:9099/alerts"})
    rc, output = amtool_check(config, tmp_path)
    assert rc == 0 and "SUCCESS" in output, output
    receiver = config["receivers"][0]
    assert set(receiver) == {"name", "email_configs", "telegram_configs", "webhook_configs"}
    assert config["route"]["receiver"] == "noc" and "office" in config["route"]["group_by"]


def test_the_lab_webhook_alone_passes_amtool(tmp_path):
    rc, output = amtool_check(ktc_metrics.alertmanager_config({"webhook": "http://10.40.0.5:9099/alerts"}), tmp_path)
    assert rc == 0, output


@pytest.mark.parametrize("receivers, message", [
    ({}, "metrics: no alert receiver. Fix: set metrics_alert_email"),
    ({"email": dict(EMAIL, to="noc at kominfo")}, "metrics_alert_email.to: 'noc at kominfo' is not an e-mail address"),
    ({"email": dict(EMAIL, smarthost="mail.example")}, "metrics_alert_email.smarthost: 'mail.example' must be host:port"),
    ({"telegram": {"bot_token": TOKEN, "chat_id": "-100; rm -rf /"}}, "metrics_alert_telegram.chat_id: '-100; rm -rf /'"),
    ({"webhook": "http://x/alerts\nroute: {}"}, "metrics_alert_webhook:"),
])
def test_a_bad_receiver_is_refused_naming_its_field(receivers, message):
    with pytest.raises(ktc_metrics.AlertingError) as error:
        ktc_metrics.alertmanager_config(receivers)
    assert message in str(error.value)


def test_a_bad_bot_token_is_refused_without_printing_it():
    secret = "not-a-token-but-a-secret-all-the-same"
    with pytest.raises(ktc_metrics.AlertingError) as error:
        ktc_metrics.alertmanager_config({"telegram": {"bot_token": secret, "chat_id": -100123}})
    assert "metrics_alert_telegram.bot_token" in str(error.value) and secret not in str(error.value)
