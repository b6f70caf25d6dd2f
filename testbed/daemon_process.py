"""The daemon as a child process in the lab's scanner namespace, read tick by tick."""

import os
import subprocess
import sys
import threading
import time

import pytest

# The repository root, found from here: testbed/ does not import from tests/.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DaemonProcess:
    """`run --dry-run` in the scanner namespace; collects its ticks as {timestamp: {metric: value}}."""

    def __init__(self, lan, config, state, people, env=None):
        self.lines_per_tick = 4 * people + 3
        argv = [sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", config, "--state", state,
                "run", "--dry-run"]
        self.proc = lan.popen(lan.scanner_ns, argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.ticks, self.stderr, self.events = {}, [], []
        # When the first line of each tick reached us (wall clock), to tell whether ticks are on time.
        self.arrived = {}
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            name, value, stamp = line.split()
            name = name.removeprefix("home.presence.")
            if name.startswith("events."):
                self.events.append((int(stamp), name.removeprefix("events.")))
            else:
                self.arrived.setdefault(int(stamp), time.time())
                self.ticks.setdefault(int(stamp), {})[name] = int(value)

    def wait_until(self, predicate, timeout):
        """Return the first complete tick's timestamp (after now) for which predicate(tick) holds."""
        deadline, since = time.time() + timeout, time.time() - 1
        while time.time() < deadline:
            for stamp in sorted(self.ticks):
                tick = self.ticks[stamp]
                if stamp >= since and len(tick) == self.lines_per_tick and predicate(tick):
                    return stamp
            time.sleep(0.1)
        pytest.fail(f"condition not met within {timeout} s; last ticks: {self.last_ticks()}; stderr: {self.stderr[-5:]}")

    def stop(self, signum):
        """Send `signum`; return the exit status and how long the daemon took to exit."""
        self.proc.send_signal(signum)
        asked = time.monotonic()
        try:
            return self.proc.wait(timeout=5), time.monotonic() - asked
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    def complete_ticks(self):
        """{timestamp: tick} of the ticks that arrived whole."""
        return {stamp: tick for stamp, tick in sorted(self.ticks.items()) if len(tick) == self.lines_per_tick}

    def last_ticks(self):
        return {stamp: self.ticks[stamp] for stamp in sorted(self.ticks)[-3:]}
