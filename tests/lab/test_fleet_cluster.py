"""The study's cluster as fleet/ builds it: 3 carbon-caches behind carbon-c-relay (carbon_ch, replication 2),
stunnel with the study CA in front, a graphite-web per cache and a front one; reached with Python's ssl client.

The first tests need no server: the disk figures of docs/fleet.md against files whisper itself makes.
"""

import importlib.util
import json
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from testbed.carbon import require
from testbed.fleet import CLUSTER, PYTHON, TEST_RETENTIONS, Fleet, fleet_unavailable_reason

# Five people of a home: four series each plus seconds_since_seen, and the two aggregates: 27, as the daemon sends.
PEOPLE = ("ann", "bob", "cy", "dee", "eve")
NAMES = [f"{p}.{m}" for p in PEOPLE for m in ("is_home", "from_wifi", "from_homeassistant", "devices_present",
                                              "seconds_since_seen")] + ["count_home", "anyone_home"]
HOMES = ("h01", "h02", "h03", "h04")
TICKS = 5
SERVER_NAME = "relay.example"


# fleet/cluster.py is a script, not a package: loaded from its path.
_spec = importlib.util.spec_from_file_location("fleet_cluster", CLUSTER)
cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cluster)


# --- no server: retentions and disk ------------------------------------------------------------------------

@pytest.mark.parametrize("retentions", [cluster.DEFAULT_RETENTIONS, TEST_RETENTIONS, "10s:1d,1min:90d,1h:3y",
                                        "60:1440,300:2016"])
def test_the_disk_figures_are_the_size_of_the_files_whisper_makes(tmp_path, retentions):
    import whisper

    archives = cluster.parse_retentions(retentions)
    assert archives == [whisper.parseRetentionDef(part) for part in retentions.split(",")]
    path = str(tmp_path / "series.wsp")
    whisper.create(path, archives, xFilesFactor=0)
    assert cluster.whisper_bytes(archives) == os.path.getsize(path)
    presence, electricity = cluster.disk_table(retentions, replication=2)
    years = max(step * points for step, points in archives) / (365 * 86400)
    assert presence[1:5] == (27, 27 * os.path.getsize(path), 54 * os.path.getsize(path), years)
    assert electricity[1:4] == (1, os.path.getsize(path), 2 * os.path.getsize(path))
    assert presence[5] == pytest.approx(54 * os.path.getsize(path) / years)


def test_the_default_retention_keeps_what_report_reads():
    archives = dict(cluster.parse_retentions(cluster.DEFAULT_RETENTIONS))
    assert archives[5] * 5 >= 86400  # a day of the 5 s ticks as sent
    assert archives[60] * 60 >= 28 * 86400  # report's 28 days at one minute


@pytest.mark.parametrize("args, message", [
    (["--nodes", "2", "--replication", "3"], "--replication 3 needs 1 <= replication <= --nodes (2)"),
    (["--nodes", "3", "--web-port", "8081,8082"], "--web-port: a first port or 3 ports"),
    (["--nodes", "2", "--retentions", "1m:1d,10s:7d"], "each archive must be coarser by a whole factor"),
    (["--nodes", "2", "--retentions", "5x:1d"], "unknown unit 'x'"),
])
def test_configure_refuses_what_cannot_work_and_says_which_option(tmp_path, args, message):
    pki = tmp_path / "pki"
    (pki / "servers").mkdir(parents=True)
    for name in ("ca.crt", "crl.pem", "servers/relay.crt", "servers/relay.key"):
        (pki / name).write_text("")
    proc = subprocess.run([PYTHON, CLUSTER, "configure", "--dir", str(tmp_path / "c"), "--pki", str(pki), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "c").exists()


def test_configure_names_a_missing_relay_certificate(tmp_path):
    proc = subprocess.run([PYTHON, CLUSTER, "configure", "--dir", str(tmp_path / "c"), "--nodes", "3",
                           "--pki", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and f"{tmp_path}/ca.crt is missing" in proc.stderr


# --- the cluster ------------------------------------------------------------------------------------------

lab = pytest.mark.lab


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    require(fleet_unavailable_reason())
    with Fleet(tmp_path_factory.mktemp("fleet"), nodes=3, replication=2) as started:
        yield started


def client_context(fleet, cert=None, key=None):
    """Python's ssl client as a home uses it: the study CA verifies the relay, the home's certificate if any."""
    context = ssl.create_default_context(cafile=fleet.ca)
    if cert:
        context.load_cert_chain(cert, key)
    return context


def send(fleet, context, lines):
    """Send plaintext lines through TLS and close with close_notify; return the TLS version."""
    with socket.create_connection(("127.0.0.1", fleet.tls_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
            tls.sendall(lines.encode())
            version = tls.version()
            tls.unwrap()
    return version


def refusal(fleet, context):
    """What the client sees: the handshake's or the first read's error, before it sends anything ('' if none)."""
    with socket.create_connection(("127.0.0.1", fleet.tls_port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
                # TLS 1.3: the client's handshake ends before the relay has judged its certificate; an alert follows.
                tls.settimeout(3)
                tls.recv(1)
        except ssl.SSLError as error:
            return str(error)
        except TimeoutError:
            return ""
    return "closed without an alert"


def send_at_once(fleet, context, lines):
    """Send right after the handshake, as a careless client does, whatever comes back."""
    try:
        with socket.create_connection(("127.0.0.1", fleet.tls_port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
                tls.sendall(lines.encode())
                tls.settimeout(3)
                while tls.recv(4096):
                    pass
    except (OSError, ssl.SSLError):
        pass


def home_lines(home, stamps, value=1):
    return "".join(f"study.{home}.presence.{name} {value} {stamp}\n" for stamp in stamps for name in NAMES)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def landed(fleet):
    """Four homes, each with its own certificate, send 27 series for 5 ticks; wait until both replicas hold them."""
    now = int(time.time())
    stamps = list(range(now - TICKS, now))
    for index, home in enumerate(HOMES):
        assert send(fleet, client_context(fleet, *fleet.home_credentials(home)),
                    home_lines(home, stamps, value=index + 1)) in ("TLSv1.2", "TLSv1.3")
    metrics = [f"study.{home}.presence.{name}" for home in HOMES for name in NAMES]

    def complete(metric):
        holding = fleet.nodes_holding(metric)
        return len(holding) >= 2 and all(len(fleet.node_points(i, metric, now - 60, now + 1)) == TICKS
                                         for i in holding)

    wait_until(lambda: all(complete(metric) for metric in metrics), 60, "every series on two nodes")
    return {"stamps": stamps, "metrics": metrics, "since": now - 60, "until": now + 1}


@lab
def test_each_series_of_every_home_lands_on_exactly_two_of_the_three_nodes(fleet, landed):
    holders = {metric: fleet.nodes_holding(metric) for metric in landed["metrics"]}
    assert {metric: len(nodes) for metric, nodes in holders.items() if len(nodes) != 2} == {}
    for metric, nodes in holders.items():
        first, second = (fleet.node_points(i, metric, landed["since"], landed["until"]) for i in nodes)
        assert first == second and sorted(first) == landed["stamps"], metric
    # The hash spreads the series: every node holds some, no node holds them all.
    counts = [sum(i in nodes for nodes in holders.values()) for i in range(3)]
    assert all(0 < count < len(holders) for count in counts), counts
    assert sum(counts) == 2 * len(holders) == 2 * 27 * len(HOMES)


def render(url, target, landed):
    query = urllib.parse.urlencode({"target": target, "from": landed["since"], "until": landed["until"],
                                    "format": "json"})
    with urllib.request.urlopen(f"{url}/render?{query}", timeout=30) as answer:
        series = json.load(answer)
    return {item["target"]: {stamp: value for value, stamp in item["datapoints"] if value is not None}
            for item in series}


@lab
def test_the_front_reads_every_home_also_with_one_node_web_stopped(fleet, landed):
    expected = {f"study.{home}.presence.count_home": {stamp: float(index + 1) for stamp in landed["stamps"]}
                for index, home in enumerate(HOMES)}
    assert render(fleet.front_url, "study.*.presence.count_home", landed) == expected
    wide = render(fleet.front_url, "study.*.presence.*.is_home", landed)
    assert sorted(wide) == sorted(f"study.{home}.presence.{person}.is_home" for home in HOMES for person in PEOPLE)
    # No node alone has every series: the front's merge is what reads them all.
    assert all(len(render(url, "study.*.presence.*.is_home", landed)) < len(wide) for url in fleet.node_urls)
    fleet.stop_node_web(0)
    try:
        assert render(fleet.front_url, "study.*.presence.count_home", landed) == expected
        assert len(render(fleet.front_url, "study.*.presence.*.is_home", landed)) == len(HOMES) * len(PEOPLE)
    finally:
        fleet.start_node_web(0)


@pytest.fixture(scope="module")
def refused(fleet):
    """`{case: (context, home)}` of clients the relay must refuse; the revoked home landed before it was revoked."""
    now = int(time.time())
    revoked = client_context(fleet, *fleet.home_credentials("r01"))
    send(fleet, revoked, f"study.r01.presence.count_home 1 {now - 1}\n")
    assert fleet.wait_for_points("study.r01.presence.count_home", now - 60, now + 1, 1, timeout=30)
    fleet.revoke("r01")
    return {"another CA": (client_context(fleet, *fleet.home_credentials("x01", other_ca=True)), "x01"),
            "expired": (client_context(fleet, *fleet.home_credentials("x02", expired=True)), "x02"),
            "revoked": (revoked, "r01"),
            "no certificate": (client_context(fleet), "x03")}


@lab
@pytest.mark.parametrize("case, alert", [("another CA", "alert unknown ca"), ("expired", "alert certificate expired"),
                                         ("revoked", "alert certificate revoked"),
                                         ("no certificate", "alert certificate required")])
def test_a_refused_client_is_told_why_by_an_alert(fleet, refused, case, alert):
    assert alert in refusal(fleet, refused[case][0])


@lab
def test_a_refused_client_lands_nothing(fleet, refused):
    now = int(time.time())
    for context, home in refused.values():
        send_at_once(fleet, context, home_lines(home, [now - 2, now - 1], value=7))
    # A good home sent after them has landed, so the relay has passed on everything it was given.
    send(fleet, client_context(fleet, *fleet.home_credentials("h01")), f"study.h01.presence.marker 1 {now}\n")
    wait_until(lambda: len(fleet.nodes_holding("study.h01.presence.marker")) == 2, 30, "the marker")
    found = {home: [folder for folder in fleet.whisper_dirs if os.path.exists(os.path.join(folder, "study", home))]
             for home in ("x01", "x02", "x03")}
    assert found == {"x01": [], "x02": [], "x03": []}
    assert fleet.nodes_holding("study.r01.presence.ann.is_home") == []
    assert 7 not in fleet.points("study.r01.presence.count_home", now - 60, now + 1).values()
    assert refusal(fleet, client_context(fleet, *fleet.home_credentials("h01"))) == ""  # the good home still lands


@lab
def test_tls_1_1_is_refused_and_tls_1_2_taken(fleet):
    cert, key = fleet.home_credentials("t01")
    old = client_context(fleet, cert, key)
    # Debian's OpenSSL leaves TLS 1.1 off at its default security level: the client must ask for it.
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.warns(DeprecationWarning):
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError, match="alert protocol version"):
        send(fleet, old, "")
    twelve = client_context(fleet, cert, key)
    twelve.maximum_version = ssl.TLSVersion.TLSv1_2
    assert send(fleet, twelve, "") == "TLSv1.2"


@lab
def test_the_relay_loses_its_queue_for_a_stopped_cache_on_sigterm_and_on_kill(fleet):
    """What docs/fleet.md says of the relay's confirmation: its queue is in memory; the replica keeps every point."""
    context = client_context(fleet, *fleet.home_credentials("q01"))
    metric, now = "study.q01.presence.count_home", int(time.time())
    send(fleet, context, f"{metric} 0 {now - 100}\n")
    wait_until(lambda: len(fleet.nodes_holding(metric)) == 2, 30, "the first point on two nodes")
    down, up = fleet.nodes_holding(metric)
    before_term, before_kill = range(now - 90, now - 80), range(now - 70, now - 60)
    fleet.stop_cache(down)
    try:
        for batch, kill in ((before_term, False), (before_kill, True)):
            send(fleet, context, "".join(f"{metric} 1 {stamp}\n" for stamp in batch))
            wait_until(lambda: set(batch) <= set(fleet.node_points(up, metric, now - 200, now)), 30, "the replica")
            log_before = fleet.log_text("relay")
            fleet.stop_relay(kill=kill)
            said = fleet.log_text("relay")[len(log_before):]
            dropped = re.findall(rf"dropping (\d+) metrics for 127\.0\.0\.1:{fleet.cache_ports[down]}\b", said)
            if kill:
                assert dropped == [] and "shutting down" not in said
            else:
                # The first point after the cache went away can go into the dead connection, unnoticed.
                assert len(dropped) == 1 and int(dropped[0]) >= len(batch) - 1, said
            fleet.start_relay()
    finally:
        fleet.start_cache(down)
    send(fleet, context, f"{metric} 2 {now - 50}\n")
    wait_until(lambda: all(now - 50 in fleet.node_points(i, metric, now - 200, now) for i in (down, up)), 30,
               "a new point on both nodes")
    assert sorted(fleet.node_points(down, metric, now - 200, now)) == [now - 100, now - 50]
    assert sorted(fleet.node_points(up, metric, now - 200, now)) == [now - 100, *before_term, *before_kill, now - 50]
