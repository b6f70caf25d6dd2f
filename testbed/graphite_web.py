"""Debian's graphite-web render API on loopback, reading the whisper files of a test's carbon-cache."""

import os
import shutil
import subprocess
import time
import urllib.request

from testbed.carbon import free_port, stop_process

SETTINGS = """SECRET_KEY = "presence-tests-only"
STORAGE_DIR = {storage!r}
WHISPER_DIR = {whisper!r}
STANDARD_DIRS = [{whisper!r}]
LOG_DIR = {log!r}
INDEX_FILE = {index!r}
CARBONLINK_HOSTS = [{carbonlink!r}]
DATABASES = {{"default": {{"NAME": {db!r}, "ENGINE": "django.db.backends.sqlite3"}}}}
TIME_ZONE = "UTC"
"""


def graphite_web_unavailable_reason():
    if shutil.which("graphite-manage") is None:
        return "a real graphite-web is needed: install Debian's graphite-web (apt-get install graphite-web)"
    return None


class GraphiteWeb:
    """`graphite-manage runserver` with its own settings module, database and logs in `folder`; with `workers`,
    Debian's gunicorn with that many worker processes instead, as graphite-web is deployed (benchmarks)."""

    def __init__(self, folder, whisper_dir, carbonlink_port, workers=None):
        self.workers = workers
        self.folder = str(folder)
        os.makedirs(os.path.join(self.folder, "log"), exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(os.path.join(self.folder, "presence_test_graphite.py"), "w") as handle:
            handle.write(SETTINGS.format(storage=self.folder, whisper=str(whisper_dir),
                                         log=os.path.join(self.folder, "log"),
                                         index=os.path.join(self.folder, "index"),
                                         carbonlink=f"127.0.0.1:{carbonlink_port}",
                                         db=os.path.join(self.folder, "graphite.db")))
        self.env = {**os.environ, "PYTHONPATH": self.folder, "GRAPHITE_SETTINGS_MODULE": "presence_test_graphite"}
        self.proc = None

    def start(self, timeout=60):
        subprocess.run(["graphite-manage", "migrate", "--run-syncdb", "--verbosity", "0"], env=self.env,
                       check=True, capture_output=True, timeout=timeout)
        argv = ["graphite-manage", "runserver", f"127.0.0.1:{self.port}", "--noreload"]
        if self.workers:
            argv = ["gunicorn", "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                    "--timeout", "300", "graphite.wsgi:application"]
        self.proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"graphite-web exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/render?target=none&format=json", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"graphite-web did not answer on {self.url} within {timeout} s")

    def stop(self):
        stop_process(self.proc, 10)
