# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_metrics
short_description: Everything the metrics role installs on core, computed once from the wiring model
version_added: "1.0.0"
description:
  - From the wiring model's segments, the uplinks and the open events (plugins/module_utils/ktc_metrics.py), the
    exporter's labels (which shaping class and Kea subnet belong to which office and segment), Prometheus'
    configuration, the alerting rules, Alertmanager's receivers and the daemons' arguments.
  - Fails, naming the field and the fix, when a receiver or the scrape interval is not valid; a bot token or
    password is never printed.
positional: uplinks, events, options
options:
  _input:
    description: The wiring model, C(ktc_model).
    type: dict
    required: true
  uplinks:
    description: Core's uplinks, C(ktc_uplinks), the preferred first.
    type: list
    elements: dict
    required: true
  events:
    description: The open events, C(ktc_events).
    type: list
    elements: dict
    default: []
  options:
    description: >-
      C(timezone) (the site's, for the events' end times), C(address) (core's management address: the exporter and the
      page listen there, the firewall lets the NOC reach it), C(port) (theirs),
      C(server) (the host's name, on the series of a server of a pair), C(scrape_interval), C(retention), C(receivers) ({email, telegram, webhook}), C(thresholds) (the alerts' own, over
      ktc_metrics.ALERT_DEFAULTS).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Compute what the metrics role installs
  ansible.builtin.set_fact:
    metrics_config: >-
      {{ ktc_model | ktc_metrics(ktc_uplinks, ktc_events, {'timezone': ktc_site.timezone, 'address': '10.40.255.1',
         'port': 9469,
         'scrape_interval': '15s', 'receivers': {'webhook': 'http://10.40.0.5:9099/alerts'}, 'thresholds': {}}) }}
"""

RETURN = r"""
_value:
  description: Each file's data, printed by the role's templates as they are.
  type: dict
  contains:
    args: {description: "The daemons' command-line arguments (/etc/default/prometheus and the others' ARGS).", type: dict}
    exporter: {description: /etc/ktc/metrics.json (ktc_metrics.exporter_config)., type: dict}
    prometheus: {description: /etc/prometheus/prometheus.yml., type: dict}
    rules: {description: /etc/prometheus/ktc-rules.yml (ktc_metrics.alert_rules)., type: dict}
    alertmanager: {description: /etc/prometheus/alertmanager.yml (ktc_metrics.alertmanager_config)., type: dict}
"""

import os
import sys

from ansible.errors import AnsibleFilterError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
import ktc_metrics as metrics  # noqa: E402 pylint: disable=wrong-import-position


def ktc_metrics(model, uplinks, events=None, options=None):
    options = options or {}
    try:
        listen = metrics.page_listen(options.get("address", "127.0.0.1"), options.get("port", 9469))
        pair = model["core"].get("pair")
        exporter = metrics.exporter_config(model["core"]["segments"], uplinks, events or [],
                                           options.get("timezone", "Asia/Makassar"), listen,
                                           {"server": options.get("server"), "ready_file": pair["ready_file"]}
                                           if pair else None)
        return {
            "args": metrics.service_arguments(options.get("retention", "400d")),
            "exporter": dict(exporter, prometheus="http://%s" % metrics.PROMETHEUS),
            "prometheus": metrics.prometheus_config("%s:%d" % listen, options.get("scrape_interval", "15s")),
            "rules": metrics.alert_rules(exporter, options.get("thresholds")),
            "alertmanager": metrics.alertmanager_config(options.get("receivers") or {}, options.get("timing")),
        }
    except metrics.AlertingError as exc:
        raise AnsibleFilterError("ktc_metrics: " + "; ".join(exc.errors))
    except ValueError as exc:
        raise AnsibleFilterError("ktc_metrics: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"ktc_metrics": ktc_metrics}
