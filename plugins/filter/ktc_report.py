# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_report
short_description: The monthly report's questions to Prometheus, and the report's files from its answers
version_added: "1.0.0"
description:
  - C(ktc_report_questions) gives the month's start and end in the site's time zone and the PromQL questions of the
    monthly report per office (plugins/module_utils/ktc_report.py), as M(ktc_prometheus_query) takes them. Fails,
    naming report_month, when the month is not YYYY-MM.
  - C(ktc_report_files) turns the answers into the report's files (Markdown in English and Bahasa Indonesia, an SVG
    chart per office), a list of C(path) (relative to the month's directory) and C(content).
  - This file holds both filters; its documentation is the questions' (the files' take the answers, the questions, the
    preferred uplink and the time zone).
positional: preferred_uplink, timezone, now
options:
  _input:
    description: report_month, C(YYYY-MM); empty for the month before this one.
    type: str
    required: true
  preferred_uplink:
    description: The preferred uplink's name (the first of C(ktc_uplinks)).
    type: str
    required: true
  timezone:
    description: The site's time zone (C(ktc_site.timezone)).
    type: str
    required: true
  now:
    description: Unix time of today (for the default month).
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Work out last month's questions
  ansible.builtin.set_fact:
    report_asked: "{{ '' | ktc_report_questions(ktc_uplinks[0].name, ktc_site.timezone, now().timestamp() | int) }}"

- name: The report's files from Prometheus' answers
  ansible.builtin.debug:
    msg: "{{ answers.answers | ktc_report_files(report_asked, ktc_uplinks[0].name, ktc_site.timezone) }}"
"""

RETURN = r"""
_value:
  description: C(ktc_report_questions) {start, end, month, questions}; C(ktc_report_files) a list of {path, content}.
  type: raw
"""

import os
import sys

from ansible.errors import AnsibleFilterError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
import ktc_report as report  # noqa: E402 pylint: disable=wrong-import-position


def ktc_report_questions(month, preferred_uplink, timezone, now):
    try:
        year, number = report.month_of(month, int(now), timezone)
    except ValueError as exc:
        raise AnsibleFilterError("ktc_report: %s" % exc)
    return report.questions(year, number, preferred_uplink, timezone)


def ktc_report_files(answers, asked, preferred_uplink, timezone):
    return report.files(answers, asked, preferred_uplink, timezone)


class FilterModule(object):
    def filters(self):
        return {"ktc_report_questions": ktc_report_questions, "ktc_report_files": ktc_report_files}
