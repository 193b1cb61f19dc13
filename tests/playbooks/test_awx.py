"""playbooks/awx: the execution environment builds a context with our pins, configure.yml parses and renders valid AWX
objects, and ktc_awx.yml agrees with the playbooks it names."""

import json
import os
import re
import subprocess

import pytest
import yaml

from conftest import REPO

AWX = os.path.join(REPO, "playbooks", "awx")
EE_FILE = os.path.join(AWX, "execution-environment.yml")
CONFIGURE = os.path.join(AWX, "configure.yml")
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")

# The contract with the playbooks and with whoever launches these templates: names, playbooks, job types.
EXPECTED_TEMPLATES = {
    "KTC converge": ("playbooks/site.yml", "run"),
    "KTC verify": ("playbooks/verify.yml", "run"),
    "KTC free a core server": ("playbooks/core_switchover.yml", "run"),
    "KTC return a core server": ("playbooks/site.yml", "run"),
    "KTC drift check": ("playbooks/drift_check.yml", "check"),
    "KTC backup": ("playbooks/backup.yml", "run"),
    "KTC restore": ("playbooks/restore.yml", "run"),
    "KTC onboard an office (preview)": ("playbooks/onboard.yml", "check"),
    "KTC onboard an office": ("playbooks/onboard.yml", "run"),
    "KTC event": ("playbooks/event.yml", "run"),
    "KTC close ended events": ("playbooks/event.yml", "run"),
    "KTC network plan": ("playbooks/network_plan.yml", "run"),
    "KTC monthly report": ("playbooks/report.yml", "run"),
}
# Credential inputs that AWX does not treat as secret; every other input must be a reference to a vaulted variable.
PUBLIC_INPUTS = {"username", "vault_id", "become_method", "become_username", "host"}


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def pins(path):
    """{lower-case name: version} of a pip requirements file's name==version lines."""
    with open(path) as handle:
        return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)$", handle.read(), re.M)}


@pytest.fixture(scope="module")
def awx():
    return load(os.path.join(AWX, "ktc_awx.yml"))


def test_the_ee_context_carries_our_pins_and_collections(tmp_path):
    context = tmp_path / "context"
    run = subprocess.run(["ansible-builder", "create", "-f", EE_FILE, "-c", str(context), "--output-filename", "Containerfile"],
                         cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    containerfile = (context / "Containerfile").read_text()
    repo_pins = pins(os.path.join(REPO, "requirements.txt"))

    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"$', containerfile, re.M).group(1).split()
    assert "ansible-core==%s" % repo_pins["ansible-core"] in refs
    assert "ansible-runner==%s" % repo_pins["ansible-runner"] in refs
    python = re.search(r'^ARG PYCMD="/usr/bin/python3\.(\d+)"$', containerfile, re.M)
    assert python and int(python.group(1)) >= 11, "ansible-core 2.19 needs Python 3.11 or later"
    assert re.search(r'^ARG EE_BASE_IMAGE="[^"]+"$', containerfile, re.M)

    # AWX's project update and the image install the same collections at the same versions.
    repo_collections = load(os.path.join(REPO, "requirements.yml"))["collections"]
    assert load(context / "_build" / "requirements.yml")["collections"] == repo_collections
    assert "ansible-galaxy collection install" in containerfile

    ee_pins = pins(context / "_build" / "requirements.txt")
    assert ee_pins["netaddr"] == repo_pins["netaddr"]
    assert ee_pins["jinja2"] == repo_pins["jinja2"]
    assert "ansible-pylibssh" in ee_pins or "paramiko" in ee_pins, "cisco.ios over network_cli needs an SSH library"
    for name, version in ee_pins.items():
        assert repo_pins.get(name, version) == version, "%s: the EE pins %s, requirements.txt %s" % (
            name, version, repo_pins[name])

    bindep = {line.split()[0] for line in (context / "_build" / "bindep.txt").read_text().splitlines() if line.strip()}
    assert {"openssh-clients", "git", "graphviz", "tzdata"} <= bindep


def test_configure_passes_the_syntax_check():
    run = subprocess.run(["ansible-playbook", "--syntax-check", CONFIGURE], cwd=REPO, env=ENV, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_job_templates_are_the_agreed_ones(awx):
    templates = {t["name"]: t for t in awx["ktc_awx_job_templates"]}
    assert {name: (t["playbook"], t["job_type"]) for name, t in templates.items()} == EXPECTED_TEMPLATES
    for template in templates.values():
        assert {"description", "diff_mode", "extra_vars", "ask_limit_on_launch", "survey"} <= set(template)
    defaults = awx["ktc_awx_job_template_defaults"]
    inventories = [i["name"] for i in awx["ktc_awx_inventories"]]
    assert defaults["inventory"] == "KTC production" and defaults["ask_inventory_on_launch"] is True
    assert sorted(inventories) == ["KTC lab", "KTC production"]
    declared = {c["name"] for c in awx["ktc_awx_credentials"]}
    assert set(defaults["credentials"]) == declared - {"KTC git push"}
    # The jobs that write the ledger or the events file push them back (playbooks/record.yml), with the push key.
    for name in ("KTC converge", "KTC return a core server", "KTC event", "KTC close ended events",
                 "KTC onboard an office", "KTC network plan"):
        assert templates[name]["extra_vars"]["ktc_record_git"] is True, name
        assert set(templates[name]["credentials"]) == declared, name
    assert defaults["execution_environment"] == awx["ktc_awx_execution_environment"]["name"]
    for inventory in awx["ktc_awx_inventories"]:
        assert os.path.isfile(os.path.join(REPO, inventory["source_path"], "hosts.yml")), inventory["name"]


def test_every_job_templates_playbook_exists(awx):
    missing = [t["playbook"] for t in awx["ktc_awx_job_templates"] if not os.path.isfile(os.path.join(REPO, t["playbook"]))]
    assert not missing, "job templates name playbooks that do not exist: %s" % sorted(set(missing))


def playbook_text(playbook, seen=None):
    """The text of a playbook and of everything it imports: playbooks, roles, their task and template files."""
    seen = set() if seen is None else seen
    path = os.path.normpath(os.path.join(REPO, playbook))
    if path in seen or not os.path.isfile(path):
        return ""
    seen.add(path)
    with open(path) as handle:
        text = handle.read()
    parts = [text]
    for imported in re.findall(r"import_playbook:\s*(\S+)", text):
        parts.append(playbook_text(os.path.join(os.path.dirname(path), imported), seen))
    roles = set(re.findall(r"^\s*-?\s*role:\s*([\w.]+)", text, re.M)) | set(
        re.findall(r"(?:include_role|import_role):\s*\n\s*name:\s*([\w.]+)", text))
    for role in roles:
        role_dir = os.path.join(REPO, "roles", role)
        if role_dir in seen or not os.path.isdir(role_dir):
            continue
        seen.add(role_dir)
        for root, _dirs, files in os.walk(role_dir):
            for name in files:
                if name.endswith((".yml", ".yaml", ".j2")):
                    with open(os.path.join(root, name)) as handle:
                        parts.append(handle.read())
    return "\n".join(parts)


def test_every_variable_a_job_template_passes_is_read_by_its_playbook(awx):
    unread = []
    for template in awx["ktc_awx_job_templates"]:
        text = playbook_text(template["playbook"])
        names = [q["variable"] for q in template["survey"]] + list(template["extra_vars"])
        unread += ["%s: %s" % (template["name"], name) for name in names if not re.search(r"\b%s\b" % name, text)]
    assert not unread, "variables that the playbook (or what it imports) never reads: %s" % unread


def test_the_event_survey_asks_exactly_what_event_yml_reads(awx):
    survey = {q["variable"]: q for q in next(t for t in awx["ktc_awx_job_templates"] if t["name"] == "KTC event")["survey"]}
    play = load(os.path.join(REPO, "playbooks", "event.yml"))[0]
    with open(os.path.join(REPO, "playbooks", "event.yml")) as handle:
        read = set(re.findall(r"\b(event_\w+)", handle.read())) - set(play.get("vars", {}))
    assert set(survey) == read
    check = next(t for t in play["tasks"] if t["name"] == "Check the request")["ansible.builtin.assert"]["that"]
    required = {m.group(1) for condition in check for m in [re.match(r"(event_\w+) \| default\(", condition)] if m}
    assert required == {v for v, q in survey.items() if q["required"]}
    actions = re.search(r"event_action \| default\(''\) in \[([^]]*)\]", " ".join(check)).group(1)
    assert survey["event_action"]["choices"] == [a.strip(" '") for a in actions.split(",")]
    assert survey["event_action"]["type"] == "multiplechoice"
    assert survey["event_clients"]["type"] == survey["event_reserved_mbit"]["type"] == "integer"


def test_schedules_and_the_workflow_name_declared_templates(awx):
    templates = {t["name"]: t for t in awx["ktc_awx_job_templates"]}
    inventories = {i["name"] for i in awx["ktc_awx_inventories"]}
    schedules = {s["name"]: s for s in awx["ktc_awx_schedules"]}
    for schedule in schedules.values():
        assert schedule["unified_job_template"] in templates, schedule["name"]
        assert schedule["inventory"] == "KTC production" and schedule["inventory"] in inventories
        assert re.fullmatch(r"DTSTART;TZID=Asia/Makassar:\d{8}T\d{6} RRULE:FREQ=\w+(;[A-Z]+=[\w,]+)*", schedule["rrule"])
    drift, backup = schedules["KTC nightly drift check"], schedules["KTC weekly backup"]
    assert drift["unified_job_template"] == "KTC drift check" and backup["unified_job_template"] == "KTC backup"
    assert re.search(r"T020000 RRULE:FREQ=DAILY(;|$)", drift["rrule"])
    assert re.search(r"T010000 RRULE:FREQ=WEEKLY;.*BYDAY=SU(;|$)", backup["rrule"])

    (workflow,) = awx["ktc_awx_workflows"]
    assert workflow["name"] == "KTC onboard an office"
    nodes = {n["identifier"]: n for n in workflow["nodes"]}
    for node in nodes.values():
        assert ("approval" in node) != ("job_template" in node), node["identifier"]
        assert "approval" in node or node["job_template"] in templates, node["identifier"]
        assert set(node.get("success_nodes", [])) <= set(nodes), node["identifier"]
    chain, node = [], workflow["nodes"][0]
    while node:
        chain.append(node.get("job_template", "approval"))
        node = nodes[node["success_nodes"][0]] if node.get("success_nodes") else None
    assert chain == ["KTC onboard an office (preview)", "approval", "KTC onboard an office"]
    assert templates[chain[0]]["job_type"] == "check" and templates[chain[2]]["job_type"] == "run"
    assert workflow["survey"] == templates[chain[0]]["survey"] == templates[chain[2]]["survey"]


def test_no_credential_holds_a_plain_secret(awx):
    with open(os.path.join(AWX, "ktc_awx.yml")) as handle:
        text = handle.read()
    assert not re.search(r"PRIVATE KEY|\$ANSIBLE_VAULT", text)
    configure = load(CONFIGURE)[0]
    required = " ".join(next(t for t in configure["tasks"] if "ansible.builtin.assert" in t)["ansible.builtin.assert"]["that"])
    for credential in awx["ktc_awx_credentials"]:
        secrets = {k: v for k, v in credential["inputs"].items() if k not in PUBLIC_INPUTS}
        assert secrets, credential["name"]
        for key, value in secrets.items():
            reference = re.fullmatch(r"\{\{ (\w+) \}\}", str(value))
            assert reference, "%s: %s must name a variable of the vaulted secrets file, not hold a value" % (
                credential["name"], key)
            assert reference.group(1) not in awx, "%s is defined in ktc_awx.yml in clear text" % reference.group(1)
            assert reference.group(1) in required, "configure.yml does not require %s" % reference.group(1)


def test_configure_renders_valid_surveys_and_workflow_nodes(awx, tmp_path):
    """Runs configure.yml's own templates (its tasks' vars) without AWX and checks what AWX would receive."""
    tasks = {t["name"]: t for t in load(CONFIGURE)[0]["tasks"]}
    job_templates, workflows = tasks["Create the job templates"], tasks["Create the workflows with their approval nodes"]
    play = [{"name": "Render", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars_files": [os.path.join(AWX, "ktc_awx.yml")],
             "tasks": [{"name": "Job templates", "ansible.builtin.debug": {"msg": "{{ survey_spec }}"},
                        "vars": job_templates["vars"], "loop": job_templates["loop"]},
                       {"name": "Workflows", "ansible.builtin.debug": {"msg": {"survey": "{{ survey_spec }}",
                                                                                "nodes": "{{ workflow_nodes }}"}},
                        "vars": workflows["vars"], "loop": workflows["loop"]}]}]
    (tmp_path / "render.yml").write_text(yaml.safe_dump(play))
    env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    run = subprocess.run(["ansible-playbook", str(tmp_path / "render.yml")], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(run.stdout[run.stdout.index("{"):])
    rendered = {t["task"]["name"]: [r["msg"] for r in t["hosts"]["localhost"]["results"]] for t in data["plays"][0]["tasks"]}
    specs = rendered["Job templates"] + [w["survey"] for w in rendered["Workflows"]]
    declared = awx["ktc_awx_job_templates"] + awx["ktc_awx_workflows"]
    for spec, template in zip(specs, declared):
        if not template["survey"]:
            assert spec == {}, template["name"]
            continue
        assert spec["name"] == template["name"] and isinstance(spec["description"], str)
        assert [q["variable"] for q in spec["spec"]] == [q["variable"] for q in template["survey"]]
        for question in spec["spec"]:
            where = "%s: %s" % (template["name"], question["variable"])
            assert {"question_name", "question_description", "variable", "type", "required", "default"} <= set(question)
            assert question["type"] in {"text", "integer", "multiplechoice"}, where
            assert isinstance(question["required"], bool), where
            if question["type"] == "multiplechoice":
                assert isinstance(question["choices"], list) and question["choices"], where
                assert question["default"] in question["choices"] + [""], where
            if question["type"] == "integer":
                assert isinstance(question["min"], int) and isinstance(question["max"], int), where
                assert question["default"] == "" or question["min"] <= question["default"] <= question["max"], where
    (workflow,) = rendered["Workflows"]
    kinds = {n["identifier"]: n["unified_job_template"]["type"] for n in workflow["nodes"]}
    assert kinds == {"preview": "job_template", "approve": "workflow_approval", "apply": "job_template"}
    approval = next(n for n in workflow["nodes"] if n["identifier"] == "approve")
    assert approval["unified_job_template"]["timeout"] > 0
    assert approval["related"]["success_nodes"] == [{"identifier": "apply"}]
