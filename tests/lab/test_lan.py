"""The namespace lab itself: reachability, leave/join, readdressing, cleanup."""

import subprocess
import sys

import pytest

from . import Lan, require_lab


def lab_namespaces(prefix: str = "prs") -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


@pytest.fixture
def lan():
    require_lab()
    with Lan() as lan:
        yield lan
    assert lab_namespaces(lan.prefix) == []


def test_device_answers_arp_and_ping(lan):
    dev = lan.add_device("phone", "02:00:00:00:10:01", "198.51.100.10")
    assert lan.arping(dev.ip) == dev.mac
    assert lan.ping(dev.ip)
    assert lan.arping("198.51.100.99", timeout=0.3) is None


def test_scanner_interface(lan):
    out = lan.run(lan.scanner_ns, ["ip", "-o", "addr", "show", "dev", lan.scanner_iface], check=True).stdout
    assert "198.51.100.2/24" in out and "inet6" not in out
    link = lan.run(lan.scanner_ns, ["ip", "-o", "link", "show", "dev", "eth0"], check=True).stdout
    assert "02:00:00:00:00:02" in link


def test_leave_and_join(lan):
    dev = lan.add_device("phone", "02:00:00:00:10:02", "198.51.100.11")
    other = lan.add_device("laptop", "02:00:00:00:10:03", "198.51.100.12")
    dev.leave()
    assert lan.arping(dev.ip, timeout=0.3) is None
    assert not lan.ping(dev.ip, timeout=0.3)
    assert lan.arping(other.ip) == other.mac
    listener = lan.listen_arp(dev.ip)
    dev.join()
    out, _ = listener.communicate(timeout=5)
    assert listener.returncode == 0 and out.strip() == dev.mac  # the join was announced
    assert lan.arping(dev.ip) == dev.mac
    assert lan.ping(dev.ip)


def test_set_ip(lan):
    dev = lan.add_device("tv", "02:00:00:00:10:04", "198.51.100.20")
    dev.set_ip("198.51.100.21")
    assert dev.ip == "198.51.100.21"
    assert lan.arping("198.51.100.21") == dev.mac
    assert lan.arping("198.51.100.20", timeout=0.3) is None
    with pytest.raises(ValueError):
        dev.set_ip("192.0.2.5")


SNIFF = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0)); s.settimeout(0.1)
print("ready", flush=True)
end, seen = time.monotonic() + float(sys.argv[1]), []
while time.monotonic() < end:
    try:
        seen.append(s.recv(2000)[:14].hex())
    except socket.timeout:
        pass
print(seen)
"""


def test_lab_is_quiet(lan):
    """Building and changing devices sends nothing by itself (no IPv6, IGMP, ARP)."""
    sniffer = lan.popen(lan.scanner_ns, [sys.executable, "-c", SNIFF, "1.5"], stdout=subprocess.PIPE)
    assert sniffer.stdout.readline().strip() == "ready"
    devs = [lan.add_device(f"d{i}", f"02:00:00:00:30:{i:02x}", f"198.51.100.{50 + i}") for i in range(3)]
    devs[0].leave()
    devs[1].set_ip("198.51.100.60")
    out, _ = sniffer.communicate(timeout=10)
    assert out.strip() == "[]"


def test_cleanup_on_exception():
    require_lab()
    with pytest.raises(RuntimeError, match="boom"):
        with Lan() as lan:
            lan.add_device("a", "02:00:00:00:10:05", "198.51.100.30")
            assert len(lab_namespaces(lan.prefix)) == 3
            raise RuntimeError("boom")
    assert lab_namespaces(lan.prefix) == []


def test_popen_process_is_ended_on_close():
    require_lab()
    with Lan() as lan:
        proc = lan.popen(lan.scanner_ns, [sys.executable, "-c", "import time; time.sleep(60)"])
    assert proc.returncode is not None
    assert lab_namespaces(lan.prefix) == []


def test_two_lans_coexist():
    require_lab()
    with Lan() as a, Lan(subnet="203.0.113.0/24", scanner_ip="203.0.113.2") as b:
        assert a.prefix != b.prefix
        da = a.add_device("x", "02:00:00:00:20:01", "198.51.100.40")
        db = b.add_device("x", "02:00:00:00:20:02", "203.0.113.40")
        assert a.arping(da.ip) == da.mac and b.arping(db.ip) == db.mac
        assert a.arping("203.0.113.40", timeout=0.3) is None  # no leak between labs
    assert lab_namespaces(a.prefix) == [] and lab_namespaces(b.prefix) == []


def test_stale_namespaces_of_dead_processes_are_removed():
    require_lab()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"prs{dead.pid}x1-br"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        with Lan():
            assert stale not in lab_namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)


def test_sigterm_cleans_up():
    require_lab()
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1])\n"
        "from lab import Lan\n"
        "with Lan() as lan:\n"
        "    lan.add_device('a', '02:00:00:00:10:06', '198.51.100.31')\n"
        "    print(lan.prefix, flush=True); time.sleep(30)\n"
    )
    tests_dir = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, "-c", code, tests_dir], stdout=subprocess.PIPE, text=True)
    prefix = proc.stdout.readline().strip()
    assert prefix and len(lab_namespaces(prefix)) == 3
    proc.terminate()
    proc.wait(timeout=10)
    assert lab_namespaces(prefix) == []
