"""The namespace lab itself: reachability, leave/join, readdressing, dozing and silent devices,
DHCP and mDNS frames, cleanup."""

import os
import subprocess
import sys

import pytest

from testbed.lab import Lan, require_lab
from tests.conftest import ROOT

pytestmark = pytest.mark.lab


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
    tests_dir = os.path.join(ROOT, "testbed")
    proc = subprocess.Popen([sys.executable, "-c", code, tests_dir], stdout=subprocess.PIPE, text=True)
    prefix = proc.stdout.readline().strip()
    assert prefix and len(lab_namespaces(prefix)) == 3
    proc.terminate()
    proc.wait(timeout=10)
    assert lab_namespaces(prefix) == []


MDNS_MAC = bytes.fromhex("01005e0000fb")


def _ipv4_udp(frame: bytes) -> tuple[bytes, int, int, bytes] | None:
    """(IPv4 header, source port, destination port, payload) of a UDP/IPv4 frame, else None."""
    if frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    hlen = (frame[14] & 15) * 4
    ip, udp = frame[14:14 + hlen], frame[14 + hlen:]
    size = int.from_bytes(udp[4:6], "big")
    return ip, int.from_bytes(udp[0:2], "big"), int.from_bytes(udp[2:4], "big"), udp[8:size]


def _checksum_ok(header: bytes) -> bool:
    total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


@pytest.fixture
def nft_lan():
    require_lab(nft=True)
    with Lan() as lan:
        yield lan
    assert lab_namespaces(lan.prefix) == []


def test_doze_drops_most_broadcast_and_multicast_but_no_unicast(nft_lan):
    lan = nft_lan
    dev = lan.add_device("phone", "02:00:00:00:40:01", "198.51.100.70")
    other = lan.add_device("laptop", "02:00:00:00:40:02", "198.51.100.71")
    dev.doze()
    assert 1 <= lan.arp_answers(dev.ip, 40, wait=0.05) <= 25  # ~1 in 4, random
    assert lan.arp_answers(dev.ip, 10, dst_mac=dev.mac) == 10
    assert lan.arp_answers(other.ip, 10) == 10
    frames = lan.capture(0.2, ns=dev.ns, during=lambda: other.mdns_announce("laptop", count=40))
    assert 1 <= sum(f[:6] == MDNS_MAC for f in frames) <= 25
    dev.wake()
    assert lan.arp_answers(dev.ip, 10) == 10


def test_go_silent_and_wake(nft_lan):
    lan = nft_lan
    dev = lan.add_device("phone", "02:00:00:00:40:03", "198.51.100.72")
    dev.go_silent()
    assert lan.arp_answers(dev.ip, 3, dst_mac=dev.mac) == 0
    assert lan.arping(dev.ip, timeout=0.2) is None
    assert not lan.ping(dev.ip, timeout=0.2)
    link = lan.run(dev.ns, ["ip", "-o", "link", "show", "dev", "eth0"], check=True).stdout
    assert "state UP" in link
    dev.wake()
    assert lan.arping(dev.ip) == dev.mac
    assert lan.ping(dev.ip)


def test_rules_are_per_device(nft_lan):
    lan = nft_lan
    a = lan.add_device("a", "02:00:00:00:40:04", "198.51.100.73")
    b = lan.add_device("b", "02:00:00:00:40:05", "198.51.100.74")
    b.wake()  # nothing to undo yet
    a.doze(keep_one_in=1000)
    b.go_silent()
    a.wake()
    assert lan.arp_answers(a.ip, 10) == 10
    assert lan.arping(b.ip, timeout=0.2) is None
    a.go_silent()
    b.doze(keep_one_in=1)  # keeps everything: replaces go_silent
    assert lan.arping(a.ip, timeout=0.2) is None
    assert lan.arp_answers(b.ip, 10) == 10
    a.wake()
    assert lan.arping(a.ip) == a.mac


def test_dhcp_request_reaches_scanner(lan):
    dev = lan.add_device("phone", "02:00:00:00:40:06", "198.51.100.75")
    frames = lan.capture(0.2, during=lambda: dev.dhcp_request("Pixel-7"))
    dhcp = [(f, u) for f in frames if (u := _ipv4_udp(f)) and u[1:3] == (68, 67)]
    assert len(dhcp) == 1
    frame, (ip, _, _, bootp) = dhcp[0]
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == bytes.fromhex(dev.mac.replace(":", ""))
    assert ip[12:16] == bytes(4) and ip[16:20] == b"\xff" * 4 and _checksum_ok(ip)
    assert bootp[0] == 1 and bootp[28:34] == frame[6:12] and bootp[236:240] == b"\x63\x82\x53\x63"
    opts, rest = {}, bootp[240:]
    while rest and rest[0] != 255:
        opts[rest[0]], rest = rest[2:2 + rest[1]], rest[2 + rest[1]:]
    assert opts[53] == b"\x03" and opts[50] == bytes(map(int, dev.ip.split(".")))
    assert opts[12] == b"Pixel-7"


def test_mdns_announcement_reaches_scanner(lan):
    dev = lan.add_device("phone", "02:00:00:00:40:07", "198.51.100.76")
    frames = lan.capture(0.2, during=lambda: dev.mdns_announce("pixel-7"))
    mdns = [(f, u) for f in frames if (u := _ipv4_udp(f)) and u[1:3] == (5353, 5353)]
    assert len(mdns) == 1
    frame, (ip, _, _, dns) = mdns[0]
    dev_ip = bytes(map(int, dev.ip.split(".")))
    assert frame[:6] == MDNS_MAC and ip[12:16] == dev_ip and ip[16:20] == bytes([224, 0, 0, 251])
    assert _checksum_ok(ip) and ip[8] == 255
    assert dns[2:4] == b"\x84\x00" and dns[4:12] == b"\x00\x00\x00\x01\x00\x00\x00\x00"
    labels, pos = [], 12
    while dns[pos]:
        labels.append(dns[pos + 1:pos + 1 + dns[pos]].decode())
        pos += 1 + dns[pos]
    assert ".".join(labels) == "pixel-7.local"
    assert dns[pos + 1:pos + 11] == b"\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04"
    assert dns[pos + 11:pos + 15] == dev_ip


def test_unplugged_scanner_has_no_carrier_until_plugged_again(lan):
    dev = lan.add_device("phone", "02:00:00:00:40:08", "198.51.100.77")
    lan.unplug_scanner()
    link = lan.run(lan.scanner_ns, ["ip", "-o", "link", "show", "dev", "eth0"], check=True).stdout
    assert "NO-CARRIER" in link and ",UP" in link  # administratively up, no link
    assert lan.arping(dev.ip, timeout=0.3) is None
    lan.plug_scanner()
    assert lan.arping(dev.ip) == dev.mac


def test_set_gateway_gives_the_scanner_a_default_route(lan):
    lan.add_device("router", "02:00:00:00:40:09", "198.51.100.1")
    lan.set_gateway("198.51.100.1")
    route = lan.run(lan.scanner_ns, ["ip", "route", "show", "default"], check=True).stdout
    assert route.startswith("default via 198.51.100.1 dev eth0")
    with pytest.raises(ValueError):
        lan.set_gateway("203.0.113.1")


def test_one_scanner_on_two_lans():
    require_lab()
    with Lan() as a, Lan(subnet="203.0.113.0/24", scanner_ip="203.0.113.2", scanner_mac="02:00:00:00:01:02",
                         scanner_ns=a.scanner_ns, scanner_iface="eth1") as b:
        assert b.scanner_ns == a.scanner_ns and len(lab_namespaces(b.prefix)) == 1  # b made its bridge only
        da = a.add_device("x", "02:00:00:00:20:03", "198.51.100.40")
        db = b.add_device("y", "02:00:00:00:20:04", "203.0.113.40")
        assert a.arping(da.ip) == da.mac and b.arping(db.ip) == db.mac
        out = a.run(a.scanner_ns, ["ip", "-o", "-4", "addr", "show"], check=True).stdout
        assert "eth0    inet 198.51.100.2/24" in out and "eth1    inet 203.0.113.2/24" in out
        before = b.frames_sent()
        b.arping(db.ip)
        assert b.frames_sent() == before + 1 and b.frames_sent() != a.frames_sent()
        b.unplug_scanner()
        assert b.arping(db.ip, timeout=0.3) is None and a.arping(da.ip) == da.mac
    assert lab_namespaces(a.prefix) == [] and lab_namespaces(b.prefix) == []


def test_flood_arp_sends_from_ever_new_locally_administered_macs(lan):
    flooder = lan.add_device("flooder", "02:00:00:00:40:0a", "198.51.100.66")

    def flood():
        assert int(flooder.flood_arp(seconds=0.5, rate=1000).communicate(timeout=10)[0]) >= 450

    frames = lan.capture(0.2, during=flood)
    arp = [f for f in frames if f[12:14] == b"\x08\x06"]
    sources = {f[6:12] for f in arp}
    assert len(arp) >= 450 and len(sources) >= 0.99 * len(arp)
    assert all(mac[0] & 0x03 == 0x02 and f[22:28] == mac for f in arp for mac in (f[6:12],))
