import os
import sys

# The allocation core is plain Python: tests import it directly, without Ansible.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugins", "module_utils"))
