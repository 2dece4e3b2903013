"""`gpuwiz fleet`: Ansible is the engine (inventory, SSH, forks, reboots); gpuwiz decides on each node.

The playbook and its role ship here as package data (ansible/); these modules write the fleet
folder, run ansible-playbook and read back what each node reported.
"""

from pathlib import Path

ANSIBLE_DIR = Path(__file__).parent / "ansible"
