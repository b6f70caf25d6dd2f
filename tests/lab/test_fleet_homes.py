"""Real daemons of several homes on the namespaced LAN send over mutual TLS (stunnel) into a real Graphite
cluster (carbon-c-relay, replication 2, three carbon-caches, node graphite-webs and a front): each series lands
on two nodes, the front reads every home also with a node gone, refused homes land nothing and say why, and the
relay down for minutes costs no point."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from testbed.carbon import require
from testbed.lab.netns_thread import call_in_netns
from tests.conftest import ROOT, make_config, write_config

pytestmark = pytest.mark.lab

OUTAGE = int(os.environ.get("PRESENCE_TEST_RELAY_OUTAGE", 120))  # s; "minutes", past every backoff
HOMES = {"h1": ("Nick", "02:00:00:00:01:01", "198.51.100.11"),
         "h2": ("Susan", "02:00:00:00:02:01", "198.51.100.12"),
         "h3": ("Tom", "02:00:00:00:03:01", "198.51.100.13")}


@pytest.fixture(scope="module")
def lan():
    """One namespaced LAN with every home's phone, for the module (each cluster costs seconds of CPU)."""
    from testbed.fleet import fleet_unavailable_reason
    from testbed.lab import Lan, require_lab

    require_lab()
    require(fleet_unavailable_reason())
    with Lan() as network:
        for name, (_, mac, ip) in HOMES.items():
            network.add_device(name, mac, ip)
        yield network


@pytest.fixture(scope="module")
def shared(lan, tmp_path_factory):
    """The cluster the tests share that leave it as they found it."""
    from testbed.fleet import Fleet

    with Fleet(tmp_path_factory.mktemp("fleet"), nodes=3, replication=2, netns=lan.scanner_ns) as cluster:
        yield cluster


@pytest.fixture
def fleet(lan, tmp_path):
    """A cluster of the test's own (for one whose relay goes down)."""
    from testbed.fleet import Fleet

    with Fleet(tmp_path / "fleet", nodes=3, replication=2, netns=lan.scanner_ns) as cluster:
        yield cluster


class Home:
    """One home's daemon (`run`, sending for real) in the scanner namespace, its log in a file."""

    def __init__(self, lan, folder, name, fleet, credentials=None, tls=True, people=None):
        person, mac, _ = HOMES.get(name, HOMES["h1"])
        os.makedirs(folder, exist_ok=True)
        graphite = {"host": "127.0.0.1", "port": fleet.tls_port, "prefix": f"study.{name}.presence",
                    "send_interval": 1}
        if tls:
            cert, key = credentials or fleet.home_credentials(name)
            graphite["tls"] = {"ca": fleet.ca, "cert": cert, "key": key}
        raw = make_config(wifi={"scan_interval": 2, "offline_grace": 30}, graphite=graphite)
        raw["people"] = people or [{"name": person, "macs": [mac]}]
        self.name, self.prefix = name, f"study.{name}.presence"
        self.log_path = folder / "daemon.log"
        config = write_config(folder / "people.yaml", raw)
        with open(self.log_path, "w") as log:
            self.proc = lan.popen(lan.scanner_ns, [sys.executable, os.path.join(ROOT, "presence_to_graphite.py"),
                                                   "--config", config, "--state", str(folder / "state.json"), "run"],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)

    def log(self):
        return open(self.log_path).read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def front_read(fleet, lan, target, since, until):
    """{series name: [non-empty values]} read through the front graphite-web, inside the namespace."""
    query = urllib.parse.urlencode({"target": target, "from": since, "until": until, "format": "json"})

    def read():
        with urllib.request.urlopen(f"{fleet.front_url}/render?{query}", timeout=30) as answer:
            return json.load(answer)

    return {series["target"]: [v for v, _ in series["datapoints"] if v is not None]
            for series in call_in_netns(lan.scanner_ns, read)}


def wait_for(what, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.5)
    pytest.fail(f"not within {timeout} s: {what}")


def test_homes_land_on_two_nodes_each_and_the_front_reads_them_all_also_with_a_node_gone(lan, shared, tmp_path):
    fleet = shared
    started = int(time.time())
    homes = [Home(lan, tmp_path / name, name, fleet) for name in HOMES]
    try:
        for home in homes:
            wait_for(f"{home.name}'s ticks in the cluster",
                     lambda: len(fleet.points(f"{home.prefix}.anyone_home", started, int(time.time()) + 1)) >= 8, 40)
        for home in homes:
            for metric in ("anyone_home", "count_home", f"{HOMES[home.name][0].lower()}.is_home"):
                assert len(fleet.nodes_holding(f"{home.prefix}.{metric}")) == 2, (home.name, metric)
        # Up to a few seconds back: the newest point may still be on its way to one replica's whisper file.
        until = int(time.time()) - 3
        everyone = front_read(fleet, lan, "study.*.presence.anyone_home", started, until)
        assert set(everyone) == {f"study.{name}.presence.anyone_home" for name in HOMES}
        assert all(values and set(values) == {1.0} for values in everyone.values()), everyone
        fleet.stop_node_web(0)
        without = front_read(fleet, lan, "study.*.presence.anyone_home", started, until)
        assert set(without) == set(everyone)
        assert all(len(without[name]) == len(everyone[name]) for name in everyone), (without, everyone)
        for home in homes:
            assert "keeping metrics" not in home.log(), home.log()
    finally:
        for home in homes:
            home.stop()
        fleet.start_node_web(0)


@pytest.mark.parametrize("kind", ["other_ca", "expired", "revoked", "no_tls"])
def test_a_refused_home_lands_nothing_and_says_why(lan, shared, tmp_path, kind):
    fleet, name, credentials = shared, f"refused-{kind}", None  # a home of its own in the shared cluster
    if kind == "other_ca":
        credentials = fleet.home_credentials(name, other_ca=True)
    elif kind == "expired":
        credentials = fleet.home_credentials(name, expired=True)
    elif kind == "revoked":
        credentials = fleet.home_credentials(name)
        fleet.revoke(name)
    home = Home(lan, tmp_path / name, name, fleet, credentials=credentials, tls=kind != "no_tls")
    try:
        expected = {"other_ca": "the study's CA did not sign graphite.tls.cert",
                    "expired": "graphite.tls.cert has expired", "revoked": "graphite.tls.cert has been revoked",
                    "no_tls": "Graphite 127.0.0.1"}[kind]
        wait_for(f"the reason in the log ({expected})", lambda: expected in home.log(), 20)
        time.sleep(3)  # several ticks, each tried and refused
        assert fleet.nodes_holding(f"{home.prefix}.anyone_home") == []
        log = home.log()
        if kind != "no_tls":
            assert log.count("refused this home's certificate") == 1, log  # said once
        if kind == "expired":
            assert "expired on" in log  # said at start, from the certificate itself
    finally:
        home.stop()
    assert home.proc.returncode == 0


def test_the_relay_down_for_minutes_loses_no_point(lan, fleet, tmp_path):
    started = int(time.time())
    home = Home(lan, tmp_path / "h1", "h1", fleet)
    metric = "study.h1.presence.count_home"
    try:
        wait_for("the first ticks", lambda: len(fleet.points(metric, started, int(time.time()) + 1)) >= 3, 40)
        fleet.stop_relay()
        down = time.time()
        wait_for("the outage said", lambda: "keeping metrics and retrying" in home.log(), 20)
        time.sleep(max(0.0, OUTAGE - (time.time() - down)))
        fleet.start_relay()
        back = time.time()
        wait_for("the outage's ticks", lambda: "takes metrics again" in home.log(), 60)
        time.sleep(3)
        ended = int(time.time()) - 2
    finally:
        home.stop()
    holding = fleet.nodes_holding(metric)
    assert len(holding) == 2
    first = min(fleet.points(metric, started, ended))
    expected = set(range(first, ended + 1))

    def missing():
        # whisper.fetch leaves out the point at its `from` itself: ask from a second earlier.
        return {i: sorted(expected - set(fleet.node_points(i, metric, first - 1, ended + 1))) for i in holding}

    deadline = time.monotonic() + 30
    while any(missing().values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(missing().values()), (missing(), down, back, fleet.log_text("relay")[-2000:])
    assert back - down >= OUTAGE
