"""The study's Graphite cluster, built with fleet/pki.sh and fleet/cluster.py as docs/fleet.md tells an operator.

Every part runs as `cluster.py run --only NAME` (it execs the part, so the process is the part itself) on free
loopback ports, with every file in `folder`, so that a test can stop and start one part at a time.

What carbon-c-relay 3.7.3 does with the points it queued for a cache (tried with this class, see
tests/lab/test_fleet_cluster.py): on SIGTERM it closes its listener, keeps sending each queue to a cache that
takes it, and drops what it cannot deliver, logging `dropping N metrics for 127.0.0.1:PORT`; on kill -9 every
point it holds is gone without a word. Either way the replica on another cache keeps its copy.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

from testbed.carbon import free_port, poll_points, stop_process, whisper_points
from testbed.lab.netns_thread import call_in_netns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "fleet", "cluster.py")
PKI = os.path.join(ROOT, "fleet", "pki.sh")
# Debian's interpreter: cluster.py must run with what the operator has.
PYTHON = "/usr/bin/python3"
# One-second points for tests that tick every second; xFilesFactor 0 comes with cluster.py's aggregation.
TEST_RETENTIONS = "1s:2h,60s:30d"
RELAY_SAN = ("DNS:relay.example", "DNS:localhost", "IP:127.0.0.1")
PROGRAMS = {"carbon-cache": "graphite-carbon", "carbon-c-relay": "carbon-c-relay", "stunnel4": "stunnel4",
            "graphite-manage": "graphite-web", "openssl": "openssl"}


def fleet_unavailable_reason():
    """Why the cluster cannot run here (the Debian package to install), or None."""
    missing = sorted({package for program, package in PROGRAMS.items() if shutil.which(program) is None})
    if not os.access(PYTHON, os.X_OK):
        missing.append("python3")
    if missing:
        return f"the study's Graphite cluster needs Debian's {', '.join(missing)} (apt-get install {' '.join(missing)})"
    return None


class Fleet:
    """stunnel -> carbon-c-relay (carbon_ch) -> `nodes` carbon-caches, a graphite-web per cache and a front one.

    `netns`: every process runs there (`ip netns exec`), so the TLS port is on that namespace's 127.0.0.1, and
    so are `front_url` and `node_urls`. Node `i` (0-based) is cluster.py's node{i+1}. `retentions`: carbon's,
    for every series.
    """

    def __init__(self, folder, nodes=3, replication=2, netns=None, retentions=TEST_RETENTIONS):
        self.folder, self.netns = str(folder), netns
        self.wrapper = ["ip", "netns", "exec", netns] if netns else []
        self.pki = os.path.join(self.folder, "pki")
        self.cluster_dir = os.path.join(self.folder, "cluster")
        self.ca = os.path.join(self.pki, "ca.crt")
        # Free where the parts listen: in `netns` a port the host sees free may be another cluster's there.
        probe = (lambda: call_in_netns(netns, free_port)) if netns else free_port
        self.tls_port, self.relay_port, self.front_port = _distinct_ports(3, probe)
        ports = _distinct_ports(3 * nodes, probe, avoid={self.tls_port, self.relay_port, self.front_port})
        self.cache_ports, self.query_ports, self.web_ports = ports[:nodes], ports[nodes:2 * nodes], ports[2 * nodes:]
        self.front_url = f"http://127.0.0.1:{self.front_port}"
        self.node_urls = [f"http://127.0.0.1:{port}" for port in self.web_ports]
        self.whisper_dirs = [os.path.join(self.cluster_dir, f"node{i + 1}", "whisper") for i in range(nodes)]
        self.procs = {}
        os.makedirs(os.path.join(self.folder, "logs"), exist_ok=True)
        self._pki("init", self.pki)
        self._pki("server", self.pki, "relay", *RELAY_SAN)
        subprocess.run([PYTHON, CLUSTER, "configure", "--dir", self.cluster_dir, "--nodes", str(nodes),
                        "--replication", str(replication), "--pki", self.pki,
                        "--tls-listen", f"127.0.0.1:{self.tls_port}", "--relay-port", str(self.relay_port),
                        "--first-cache-port", _join(self.cache_ports), "--first-query-port", _join(self.query_ports),
                        "--web-port", _join(self.web_ports), "--front-port", str(self.front_port),
                        "--retentions", retentions], check=True, capture_output=True, text=True)
        self._ports = {"relay": self.relay_port, "stunnel": self.tls_port, "front": self.front_port,
                       **{f"node{i + 1}": port for i, port in enumerate(self.cache_ports)},
                       **{f"web{i + 1}": port for i, port in enumerate(self.web_ports)}}

    def start(self, timeout=60):
        """Start every part; return when each listens and each graphite-web answers.

        The front is asked last: a node it asks in vain is skipped for REMOTE_RETRY_DELAY (30 s) after.
        """
        try:
            for name in self._ports:
                self._spawn(name)
            for name in sorted(self._ports, key=lambda name: name == "front"):
                self._wait_until_up(name, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop every part: the webs, the door, the relay (it hands its queues on), the caches last."""
        stages = [["front", *(n for n in self._ports if n.startswith("web"))], ["stunnel"], ["relay"],
                  [n for n in self._ports if n.startswith("node")]]
        for stage in stages:  # the parts of a stage at once
            procs = [self.procs.pop(name) for name in stage if name in self.procs]
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                stop_process(proc, 15)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- credentials -------------------------------------------------------------------------------------------

    def home_credentials(self, name, days=30, expired=False, other_ca=False):
        """`(cert_path, key_path)` for home `name`: signed by the study CA, or by another CA that stunnel does not
        trust; `expired`: one whose validity ended yesterday."""
        ca = self.pki
        if other_ca:
            ca = os.path.join(self.folder, "other-ca")
            if not os.path.exists(os.path.join(ca, "ca.crt")):
                self._pki("init", ca)
        self._pki("home", ca, name, "expired" if expired else str(days))
        return os.path.join(ca, "homes", f"{name}.crt"), os.path.join(ca, "homes", f"{name}.key")

    def revoke(self, name):
        """Revoke home `name`'s certificate; stunnel rereads the CRL (SIGHUP) on the same port before this returns."""
        self._pki("revoke", self.pki, name)
        log = self._log_path("stunnel")
        reloads = _count(log, "Configuration successful")
        self.procs["stunnel"].send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while _count(log, "Configuration successful") <= reloads:
            if time.monotonic() > deadline:
                raise RuntimeError(f"stunnel did not reload its configuration; see {log}")
            time.sleep(0.05)

    # --- what the caches hold -----------------------------------------------------------------------------------

    def nodes_holding(self, metric):
        """The nodes (0-based) that have a whisper file for `metric`."""
        relative = os.path.join(*metric.split(".")) + ".wsp"
        return [i for i, folder in enumerate(self.whisper_dirs) if os.path.exists(os.path.join(folder, relative))]

    def points(self, metric, since, until):
        """`{timestamp: value}` of `metric` from the first node that holds it (each replica gets every point)."""
        holding = self.nodes_holding(metric)
        return self.node_points(holding[0], metric, since, until) if holding else {}

    def node_points(self, i, metric, since, until):
        """`{timestamp: value}` of `metric` on node `i` alone ({} when it has no file for it)."""
        return whisper_points(self.whisper_dirs[i], metric, since, until)

    def wait_for_points(self, metric, since, until, count, timeout=15):
        """Poll until `count` points of `metric` landed (carbon writes asynchronously); return what is there."""
        return poll_points(lambda: self.points(metric, since, until), count, timeout)

    # --- parts going down and up ---------------------------------------------------------------------------------

    def stop_node_web(self, i):
        """Stop node `i`'s graphite-web."""
        self._stop_part(f"web{i + 1}")

    def start_node_web(self, i, timeout=60):
        """Start node `i`'s graphite-web again on its port."""
        self._restart(f"web{i + 1}", timeout)

    def stop_cache(self, i):
        """Stop node `i`'s carbon-cache (SIGTERM: it writes what it holds first)."""
        self._stop_part(f"node{i + 1}")

    def start_cache(self, i, timeout=30):
        """Start node `i`'s carbon-cache again on its ports and folder."""
        self._restart(f"node{i + 1}", timeout)

    def stop_relay(self, kill=False):
        """Stop carbon-c-relay: SIGTERM (it flushes what it can), or SIGKILL with `kill`."""
        proc = self.procs.pop("relay", None)
        if proc and kill:
            proc.kill()
            proc.wait()
        elif proc:
            stop_process(proc, 15)

    def start_relay(self, timeout=30):
        """Start carbon-c-relay again on the same port."""
        self._restart("relay", timeout)

    def pids(self):
        """`{part: pid}` of the running parts (relay, stunnel, node1.., web1.., front): each is the part itself."""
        return {name: proc.pid for name, proc in self.procs.items() if proc.poll() is None}

    def log_text(self, name):
        """What part `name` (relay, stunnel, node1, web1, front) wrote to its stdout and stderr."""
        with open(self._log_path(name), errors="replace") as handle:
            return handle.read()

    # --- helpers --------------------------------------------------------------------------------------------------

    def _pki(self, *args):
        proc = subprocess.run([PKI, *args], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"pki.sh {' '.join(args)} failed: {proc.stderr.strip()}")

    def _log_path(self, name):
        return os.path.join(self.folder, "logs", f"{name}.log")

    def _spawn(self, name):
        with open(self._log_path(name), "ab") as log:
            self.procs[name] = subprocess.Popen(
                [*self.wrapper, PYTHON, CLUSTER, "run", "--dir", self.cluster_dir, "--only", name],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def _restart(self, name, timeout):
        self._stop_part(name)
        self._spawn(name)
        self._wait_until_up(name, timeout)

    def _stop_part(self, name):
        stop_process(self.procs.pop(name, None), 15)

    def _wait_until_up(self, name, timeout):
        port, proc = self._ports[name], self.procs[name]
        web = name == "front" or name.startswith("web")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log_text(name)[-1500:]}")
            if self._in_netns(_answers if web else _listening, port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not come up on 127.0.0.1:{port} within {timeout} s: "
                           f"{self.log_text(name)[-1500:]}")

    def _in_netns(self, function, *args):
        return call_in_netns(self.netns, function, *args) if self.netns else function(*args)


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _answers(port):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/render?target=none&format=json", timeout=5).read()
        return True
    except OSError:
        return False


def _distinct_ports(count, probe, avoid=()):
    ports = []
    while len(ports) < count:
        port = probe()
        if port not in ports and port not in avoid:
            ports.append(port)
    return ports


def _join(ports):
    return ",".join(map(str, ports))


def _count(path, text):
    with open(path, errors="replace") as handle:
        return handle.read().count(text)
