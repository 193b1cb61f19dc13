#!/usr/bin/env bash
# ansible-doc must render every plugin of the repository (DOCUMENTATION, EXAMPLES and RETURN parse).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for file in plugins/modules/*.py plugins/filter/*.py; do
  name=$(basename "$file" .py)
  kind=module; [[ $file == plugins/filter/* ]] && kind=filter
  if ansible-doc -t "$kind" "$name" > /dev/null 2> /tmp/ansible-doc.err && ! grep -q ERROR /tmp/ansible-doc.err; then
    echo "ok   ansible-doc -t $kind $name"
  else
    echo "FAIL ansible-doc -t $kind $name"; cat /tmp/ansible-doc.err; status=1
  fi
done
exit $status
