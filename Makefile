# Operators' entry points. `make lab` is the main job on the virtual KTC; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
LAB := $(VENV)/bin/python scripts/lab/lab.py
# The lab's inventory: inventories/lab, or inventories/lab-pair (the lab with a pair of core servers).
LAB_INVENTORY ?= inventories/lab

.PHONY: setup lab lab-up converge verify lab-down plan render test lint unit molecule bench bench-render bench-converge bench-firewall bench-dhcp-dns bench-shaping

setup:
	@scripts/setup.sh

# The main job on the lab: bring up the virtual KTC, converge it with playbooks/site.yml, say where to look.
lab: setup lab-up converge
	@echo "The virtual KTC is up and converged."
	@echo "  log in:    ssh -F .lab/ssh/config core    (or sw-diskominfo, sw-bkpsdm, sw-dukcapil)"
	@echo "  a client:  ssh -F .lab/ssh/config sw-dukcapil ip netns exec c-swp2 bash"
	@echo "  the plan:  inventories/lab/ipam.yml; VM consoles: .lab/run/*.console"
	@echo "  check it:  make verify;   stop it: make lab-down"

lab-up: setup
	$(LAB) --inventory $(LAB_INVENTORY) up

converge: setup
	ansible-playbook -i $(LAB_INVENTORY) playbooks/site.yml

verify: setup
	KTC_LAB_INVENTORY=$(LAB_INVENTORY) pytest -p no:cacheprovider tests/integration

lab-down:
	$(LAB) down

# Preview what a converge would change, without changing anything.
plan: setup
	ansible-playbook -i inventories/lab playbooks/site.yml --check --diff

# Regenerate the golden renders (tests/render/): every file of every host, rendered without devices. Review the diff.
render: setup
	scripts/render.sh --golden

test: setup
	scripts/test.sh

lint: setup
	yamllint --strict .
	ansible-lint --profile production

unit: setup
	pytest -n auto tests/unit tests/playbooks

molecule: setup
	cd . && molecule test -s ktc

bench: setup
	python tests/bench/bench_allocate.py

# Render every file of a generated 300-office, 100-switch KTC: the Jinja derivation before the wiring model vs the model.
bench-render: setup
	python tests/bench/bench_render.py

# Lab benchmarks: each needs the machine to itself (one lab at a time).
bench-converge: setup
	tests/bench/bench_converge.sh

bench-firewall: setup
	python tests/bench/bench_firewall.py

bench-dhcp-dns: setup
	python tests/bench/bench_dhcp_dns.py

bench-shaping: setup
	python tests/bench/bench_shaping.py
