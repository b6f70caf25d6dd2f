"""A real systemd: a throwaway copy of a cached Debian root, presence installed in it by systemd/install.sh,
booted with systemd-nspawn on the network of one of the lab's namespaces (never the host's).

The copies are named ``presence-systemd-<pid>-*`` in the temp folder and deleted on close, at exit, and (for
dead processes) when the next container is made; systemd-nspawn gets SIGTERM (the container powers off) when
the thread that started it dies.
"""

import atexit
import ctypes
import glob
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time

# The repository root, found from here: testbed/ does not import from tests/.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBIAN_ROOT = os.path.join(ROOT, "scripts", "debian-root")
COPY_PREFIX = "presence-systemd-"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
PR_SET_PDEATHSIG = 1

_open_containers = set()
_counter = itertools.count(1)


class ContainerError(RuntimeError):
    """Installing into the root or booting it failed (the message says where to look)."""


def cached_root():
    """Where scripts/debian-root keeps the root of this machine's release (it says; it owns the path)."""
    return subprocess.run([DEBIAN_ROOT, "--path"], capture_output=True, text=True, check=True).stdout.strip()


def systemd_unavailable_reason():
    """None when a container with a real systemd can be booted here, else what is missing."""
    if os.geteuid() != 0:
        return "a real systemd in a container needs root (systemd-nspawn, chroot)"
    if shutil.which("systemd-nspawn") is None:
        return "a real systemd in a container needs systemd-nspawn (apt-get install systemd-container)"
    if not os.path.exists(os.path.join(cached_root(), ".complete")) and shutil.which("debootstrap") is None:
        return f"no Debian root in {cached_root()} and no debootstrap to build one (apt-get install debootstrap)"
    return None


def build_root():
    """Build the cached root when it is missing (about a minute, once); None when there is one, else why not."""
    result = subprocess.run([DEBIAN_ROOT], capture_output=True, text=True, timeout=900)
    if result.returncode:
        return f"scripts/debian-root could not build {cached_root()}: {result.stderr.strip()[-500:]}"
    return None


def remove_stale_copies():
    """Delete the copies that processes which are gone left behind."""
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), COPY_PREFIX + "*")):
        pid = os.path.basename(folder)[len(COPY_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            remove_copy(folder)


def remove_copy(folder):
    # --one-file-system: whatever might still be mounted in the copy is not followed.
    subprocess.run(["rm", "-rf", "--one-file-system", folder], check=False)


def _die_with_parent():
    # In the child before exec: SIGTERM makes nspawn power the container off.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Container:
    """Context manager: the copy, the install (its output in `installed`), the boot; `run` runs in it."""

    def __init__(self, netns):
        self.netns = netns
        self.folder = self.root = self.nspawn = self.leader = self.installed = None

    def __enter__(self):
        remove_stale_copies()
        self.folder = tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-")
        _open_containers.add(self)
        try:
            # nspawn names the machine after the root's folder; two running machines must not share a name.
            self.root = os.path.join(self.folder, f"presence-{os.getpid()}-{next(_counter)}")
            subprocess.run(["cp", "-a", cached_root(), self.root], check=True)
            self.installed = self._install()
            self._boot()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def path(self, inside):
        """The host's path of the container's file `inside`."""
        return os.path.join(self.root, inside.lstrip("/"))

    def _install(self):
        """Run systemd/install.sh in a chroot, from the project's files copied to /src."""
        self._copy_project(self.path("/src"))
        result = subprocess.run(["chroot", self.root, "bash", "-c", "cd /src && systemd/install.sh"],
                                env=self._pip_environment(), capture_output=True, text=True, timeout=600)
        if result.returncode:
            raise ContainerError(f"systemd/install.sh in the chroot exited {result.returncode}: {result.stderr}")
        return result.stdout

    @staticmethod
    def _copy_project(target):
        """The files of the checkout as they are now, those git ignores (a run's state, a venv) left out."""
        listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, text=True)
        if listed.returncode:  # not a checkout (a tarball): install.sh itself leaves out what runs left
            shutil.copytree(ROOT, target, symlinks=True, ignore=shutil.ignore_patterns(".git", ".venv"))
            return
        for name in filter(None, listed.stdout.split("\0")):
            source = os.path.join(ROOT, name)
            if os.path.lexists(source):  # a tracked file deleted in the working tree stays out
                os.makedirs(os.path.dirname(os.path.join(target, name)), exist_ok=True)
                shutil.copy2(source, os.path.join(target, name), follow_symlinks=False)

    def _pip_environment(self):
        """What pip in the chroot needs of this machine's settings to reach the package index: the name server,
        the CA bundle $PIP_CERT names, the PIP_* and proxy variables. (Not /etc/pip.conf: the files it names,
        such as a constraints file, are not in the chroot.)"""
        self._copy_in("/etc/resolv.conf")
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
               "LANG": "C.UTF-8"}
        env.update({key: value for key, value in os.environ.items() if key in PROXY_VARIABLES})
        for key, value in os.environ.items():
            if not key.startswith("PIP_"):
                continue
            if key == "PIP_FIND_LINKS":
                # This machine's wheel folders are not in the chroot: there pip uses the index.
                value = " ".join(link for link in value.split() if "://" in link)
            elif key == "PIP_CERT" and os.path.isfile(value):
                self._copy_in(value)
            if value:
                env[key] = value
        return env

    def _copy_in(self, path):
        """Copy this machine's file to the same path in the root."""
        target = self.path(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.lexists(target):
            os.unlink(target)  # a symlink there may point at this machine's own file
        shutil.copyfile(path, target)

    def _boot(self, timeout=60):
        with open(os.path.join(self.folder, "console.log"), "wb") as console:
            self.nspawn = subprocess.Popen(
                ["systemd-nspawn", "-D", self.root, "--register=no", "--keep-unit", "-q", "--console=pipe", "-b",
                 f"--network-namespace-path=/run/netns/{self.netns}"],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        state = "not started"
        while time.monotonic() < deadline and self.nspawn.poll() is None:
            self.leader = self.leader or self._init_pid()
            if self.leader:
                state = self.run("systemctl", "is-system-running").stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.1)
        with open(os.path.join(self.folder, "console.log"), encoding="utf-8", errors="replace") as console:
            said = console.read()[-3000:]
        raise ContainerError(f"the container's systemd is {state!r}, not running; its console said:\n{said}")

    def _init_pid(self):
        """The container's PID 1 (as this machine numbers it): the child of nspawn that is 1 in its namespace.

        nspawn forks helpers too, for a moment, so its first child need not be the one."""
        for pid in filter(str.isdigit, os.listdir("/proc")):  # not pgrep: procps is not on a minimal Debian
            try:
                with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
            except (FileNotFoundError, ProcessLookupError):
                continue
            nspid = fields.get("NSpid", "").split()
            if fields.get("PPid", "").strip() == str(self.nspawn.pid) and len(nspid) > 1 and nspid[-1] == "1":
                return int(pid)
        return None

    def run(self, *argv, timeout=60):
        """Run argv in the container (all its namespaces, its root and working folder); text output captured.

        -r -w: without them, a test run inside a chroot would keep the chroot's root and miss the container's."""
        return subprocess.run(["nsenter", "-t", str(self.leader), "-a", "-r", "-w", *argv], capture_output=True,
                              text=True, errors="replace", timeout=timeout)

    def systemctl(self, *args, timeout=60):
        return self.run("systemctl", "--no-pager", *args, timeout=timeout)

    def show(self, unit, *properties):
        """{property: value} from `systemctl show`."""
        out = self.systemctl("show", unit, *(f"--property={name}" for name in properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, *args):
        """`journalctl` in the container, as text."""
        return self.run("journalctl", "--no-pager", "-q", *args).stdout

    def cursor(self):
        """Where the container's journal ends now, for `journal(f"--after-cursor={cursor}")`."""
        out = self.journal("-n", "1", "-o", "cat", "--show-cursor")
        return out.rsplit("-- cursor: ", 1)[1].strip()

    def write(self, inside, text, mode=0o644):
        """Write the container's file `inside` (as root, in the container's root)."""
        with open(os.open(self.path(inside), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as handle:
            handle.write(text)
        os.chmod(self.path(inside), mode)

    def close(self):
        """Power the container off (kill it if it will not go) and delete the copy."""
        if self.nspawn is not None and self.nspawn.poll() is None:
            self.nspawn.terminate()  # nspawn tells the container's systemd to power off
            try:
                self.nspawn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                if self.leader:
                    os.kill(self.leader, signal.SIGKILL)  # ends every process of the container's PID namespace
                self.nspawn.kill()
                self.nspawn.wait()
        if self.folder:
            remove_copy(self.folder)
            self.folder = None
        _open_containers.discard(self)


atexit.register(lambda: [container.close() for container in list(_open_containers)])
