#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_prometheus_query
short_description: Ask Prometheus on the device a set of questions and return its answers
version_added: "1.0.0"
description:
  - Sends each question (PromQL the controller wrote, for example the monthly report's, ktc_report.queries) to the
    HTTP API of Prometheus on the device (on core it listens on loopback only, so the question is asked there) and
    returns the C(result) of each answer as data.
  - Changes nothing; runs the same in check mode.
options:
  url:
    description: Prometheus' address as seen from the device.
    type: str
    default: http://127.0.0.1:9090
  questions:
    description: The questions by name.
    type: dict
    required: true
  timeout:
    description: Seconds to wait for each answer (a month of 5-minute samples takes a few seconds on a small server).
    type: int
    default: 120
author:
  - Diskominfo Kabupaten Sumbawa Barat
"""

EXAMPLES = r"""
- name: Ask Prometheus on core for last month's traffic
  ktc_prometheus_query:
    questions:
      bytes: {kind: instant, promql: "sum by (office) (increase(ktc_shaping_bytes_total[30d]))", time: 1798736400}
      throughput: {kind: range, promql: "sum by (office) (rate(ktc_shaping_bytes_total[5m]))", start: 1796144400,
                   end: 1798736400, step: 300}
  register: answers
"""

RETURN = r"""
answers:
  description: Each question's C(result) as Prometheus gave it (a vector for instant questions, a matrix for ranges).
  returned: success
  type: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.parse import urlencode
from ansible.module_utils.urls import open_url


def ask(url, question, timeout):
    if question.get("kind") == "range":
        path, params = "/api/v1/query_range", {"query": question["promql"], "start": question["start"],
                                               "end": question["end"], "step": question["step"]}
    else:
        path, params = "/api/v1/query", {"query": question["promql"], "time": question["time"]}
    answer = json.loads(open_url(url.rstrip("/") + path, data=urlencode(params), method="POST", timeout=timeout,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}).read())
    if answer.get("status") != "success":
        raise ValueError(answer.get("error") or answer.get("status"))
    return answer["data"]["result"]


def main():
    module = AnsibleModule(argument_spec=dict(url=dict(type="str", default="http://127.0.0.1:9090"),
                                              questions=dict(type="dict", required=True),
                                              timeout=dict(type="int", default=120)),
                           supports_check_mode=True)
    answers = {}
    for name, question in sorted(module.params["questions"].items()):
        try:
            answers[name] = ask(module.params["url"], question, module.params["timeout"])
        except Exception as exc:  # pylint: disable=broad-except  (URLError, HTTPError, JSON: all name the question)
            module.fail_json(msg="Prometheus at %s did not answer the question %s: %s. Fix: is Prometheus running on "
                                 "%s (systemctl status prometheus), and does it keep the month asked for "
                                 "(metrics_retention)?" % (module.params["url"], name, exc, "the device"))
    module.exit_json(changed=False, answers=answers)


if __name__ == "__main__":
    main()
