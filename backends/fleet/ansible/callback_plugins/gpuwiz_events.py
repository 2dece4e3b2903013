"""Ansible stdout callback: one JSON object a line, for `gpuwiz fleet apply` to show live.

Loaded by ansible-playbook from this folder (ANSIBLE_CALLBACK_PLUGINS), never imported by gpuwiz.
Events: {"event": "play"|"task"|"ok"|"changed"|"failed"|"skipped"|"unreachable"|"stats", ...}.
"""

from __future__ import annotations

import json
import sys

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: gpuwiz_events
    type: stdout
    short_description: JSON lines for gpuwiz fleet apply
    description: One JSON object per line for each task and host result, then the recap.
"""

KEPT = ("rc", "msg", "delta", "stdout_lines", "stderr_lines", "skip_reason")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "gpuwiz_events"

    def _emit(self, **event):
        sys.stdout.write(json.dumps(event, default=str) + "\n")
        sys.stdout.flush()

    def _result(self, kind, result):
        data = result._result
        event = {"event": kind, "host": result._host.get_name(), "task": result._task.get_name()}
        event.update({k: data[k] for k in KEPT if k in data})
        if "stdout_lines" in event:
            event["stdout_lines"] = event["stdout_lines"][-40:]
        facts = data.get("ansible_facts", {})
        for fact in ("outcome", "steps"):
            if f"gpuwiz_{fact}" in facts:
                event[fact] = facts[f"gpuwiz_{fact}"]
        self._emit(**event)

    def v2_playbook_on_play_start(self, play):
        self._emit(event="play", name=play.get_name())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._emit(event="task", name=task.get_name())

    def v2_runner_on_ok(self, result):
        self._result("changed" if result._result.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        hosts = {h: stats.summarize(h) for h in sorted(stats.processed)}
        self._emit(event="stats", hosts=hosts)
