"""A real carbon-cache (Debian's graphite-carbon) on loopback, in a temp dir, read back with whisper."""

import os
import shutil
import socket
import subprocess
import sys
import time

from testbed import lab_marker

# One-second points, so tests can tick every second.
SCHEMAS = """[presence]
pattern = ^home\\.presence\\.
retentions = 1s:1h,1m:1d

[default]
pattern = .*
retentions = 1s:1h,1m:1d
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(proc, timeout):
    """Terminate a server the test started; kill it if it does not go within `timeout` seconds."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def carbon_unavailable_reason():
    if shutil.which("carbon-cache") is None:
        return "a real carbon-cache is needed: install Debian's graphite-carbon (apt-get install graphite-carbon)"
    return None


def require(reason):
    """Skip the test for `reason` (when not None); under CI, fail instead: CI must run it.

    Only for tests marked `lab`; reason None still means the test uses a real part.
    """
    import pytest

    lab_marker.check()
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}", pytrace=False)
    if reason:
        pytest.skip(reason)


class Carbon:
    """carbon-cache in the foreground with every path in `folder`; `port` is its plaintext listener."""

    def __init__(self, folder, netns=None):
        self.folder = str(folder)
        self.wrapper = ["ip", "netns", "exec", netns] if netns else []
        self.port = free_port()
        self.cache_port = free_port()
        self.whisper_dir = os.path.join(self.folder, "whisper")
        self.conf = os.path.join(self.folder, "carbon.conf")
        self.proc = None
        for sub in ("whisper", "log", "lists"):
            os.makedirs(os.path.join(self.folder, sub), exist_ok=True)
        with open(os.path.join(self.folder, "storage-schemas.conf"), "w") as handle:
            handle.write(SCHEMAS)
        settings = {
            "STORAGE_DIR": self.folder, "LOCAL_DATA_DIR": self.whisper_dir, "CONF_DIR": self.folder,
            "WHITELISTS_DIR": os.path.join(self.folder, "lists"), "LOG_DIR": os.path.join(self.folder, "log"),
            "PID_DIR": self.folder, "USER": "", "ENABLE_TAGS": "False", "ENABLE_LOGROTATION": "False",
            "MAX_CACHE_SIZE": "inf", "MAX_UPDATES_PER_SECOND": "inf", "MAX_CREATES_PER_MINUTE": "inf",
            "LINE_RECEIVER_INTERFACE": "127.0.0.1", "LINE_RECEIVER_PORT": str(self.port),
            "ENABLE_UDP_LISTENER": "False", "PICKLE_RECEIVER_INTERFACE": "127.0.0.1",
            "PICKLE_RECEIVER_PORT": str(free_port()), "CACHE_QUERY_INTERFACE": "127.0.0.1",
            "CACHE_QUERY_PORT": str(self.cache_port), "LOG_LISTENER_CONNECTIONS": "False",
        }
        with open(self.conf, "w") as handle:
            handle.write("[cache]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items()))

    def start(self, timeout=30):
        self.proc = subprocess.Popen([*self.wrapper, "carbon-cache", f"--config={self.conf}", "--nodaemon",
                                      "start"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"carbon-cache exited with {self.proc.returncode}; see {self.folder}/log")
            if self._listening():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"carbon-cache did not listen on 127.0.0.1:{self.port} within {timeout} s")

    def _listening(self):
        if self.wrapper:
            probe = f"import socket; socket.create_connection(('127.0.0.1', {self.port}), timeout=0.5).close()"
            return subprocess.run([*self.wrapper, sys.executable, "-c", probe], capture_output=True).returncode == 0
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def stop(self):
        stop_process(self.proc, 10)

    def points(self, metric, since, until):
        """Return {timestamp: value} of the non-empty points whisper holds for `metric`."""
        return whisper_points(self.whisper_dir, metric, since, until)

    def wait_for_points(self, metric, since, until, count, timeout=15):
        """Poll whisper until `count` points of `metric` landed (carbon writes asynchronously)."""
        return poll_points(lambda: self.points(metric, since, until), count, timeout)


def whisper_points(whisper_dir, metric, since, until):
    """{timestamp: value} of the non-empty points of `metric` under `whisper_dir` ({} without its file);
    whisper.fetch leaves out the point at `since` itself."""
    import whisper

    path = os.path.join(whisper_dir, *metric.split(".")) + ".wsp"
    if not os.path.exists(path):
        return {}
    (start, _end, step), values = whisper.fetch(path, since, until)
    return {start + i * step: value for i, value in enumerate(values) if value is not None}


def poll_points(read, count, timeout):
    """`read()` again until it holds `count` points or `timeout` s have passed; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
