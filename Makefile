# Operators' entry points. `make lab` is the main job on the virtual KTC; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: setup lab plan test lint unit bench

setup:
	scripts/setup.sh

# The main job on the lab: validate, allocate, print the plan (converges the lab once it exists).
lab: setup
	ansible-playbook -i inventories/lab playbooks/site.yml

plan: setup
	ansible-playbook -i inventories/lab playbooks/site.yml --check --diff

test: setup
	scripts/test.sh

lint: setup
	yamllint --strict .
	ansible-lint --profile production

unit: setup
	pytest tests/unit tests/playbooks

bench: setup
	python tests/bench/bench_allocate.py
