"""The WiFi source on a real (namespaced) network stack."""

import ipaddress
import json

from presence.wifi_scan import route_interface
from tests.conftest import cli, make_config, write_config

NO_NET_RAW = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--")
ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0164A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0064A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wlan0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_route_interface_picks_the_on_link_route_only(tmp_path):
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    assert route_interface(ipaddress.IPv4Network("198.51.100.0/24"), str(routes)) == "wlan0"
    assert route_interface(ipaddress.IPv4Network("192.168.100.0/25"), str(routes)) == "eth0"
    # Reached only through the default gateway: never swept.
    assert route_interface(ipaddress.IPv4Network("203.0.113.0/24"), str(routes)) is None


def lab_config(tmp_path, **overrides):
    raw = make_config(**overrides)
    raw["people"][0]["macs"] = ["02:00:00:00:01:01"]
    return write_config(tmp_path / "people.yaml", raw)


def discover(lan, config):
    result = cli(lan, "--config", config, "discover", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sweep_finds_devices_and_discover_lists_the_unmapped(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    lan.add_device("router", "02:00:00:00:ff:ff", "198.51.100.1")
    lan.add_device("printer", "00:1a:11:00:00:21", "198.51.100.21")
    lan.add_device("guest", "da:a1:19:00:00:22", "198.51.100.22")
    rows = discover(lan, lab_config(tmp_path))
    assert rows == [
        {"mac": "00:1a:11:00:00:21", "ip": "198.51.100.21", "vendor": "Google, Inc.", "randomized": False},
        {"mac": "da:a1:19:00:00:22", "ip": "198.51.100.22", "vendor": None, "randomized": True},
    ]


def test_a_device_that_left_is_not_seen_and_returns_at_its_new_ip(lan, tmp_path):
    guest = lan.add_device("guest", "da:a1:19:00:00:22", "198.51.100.22")
    config = lab_config(tmp_path)
    guest.leave()
    assert discover(lan, config) == []
    guest.set_ip("198.51.100.77")
    guest.join()
    assert [row["ip"] for row in discover(lan, config)] == ["198.51.100.77"]


def test_discover_human_table(lan, tmp_path):
    lan.add_device("guest", "da:a1:19:00:00:22", "198.51.100.22")
    result = cli(lan, "--config", lab_config(tmp_path), "discover")
    assert result.returncode == 0
    assert "da:a1:19:00:00:22  198.51.100.22    yes" in result.stdout
    assert "1 unmapped device(s)" in result.stdout


def test_without_cap_net_raw_it_says_so_once_and_reads_the_neighbour_table(lan, tmp_path):
    nick = lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    lan.add_device("susan", "02:00:00:00:02:01", "198.51.100.12")
    assert lan.ping(nick.ip)  # the kernel now knows nick as a fresh neighbour; susan stays unknown
    config = lab_config(tmp_path)
    result = cli(lan, "--config", config, "--state", str(tmp_path / "s.json"), "once", "--dry-run",
                 wrapper=NO_NET_RAW)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("needs the CAP_NET_RAW capability") == 1
    assert "AmbientCapabilities=CAP_NET_RAW" in result.stderr
    assert "home.presence.nick.from_wifi 1 " in result.stdout
    assert "home.presence.susan.from_wifi 0 " in result.stdout
    state = json.loads((tmp_path / "s.json").read_text())
    assert state["devices"]["02:00:00:00:01:01"]["how"] == "neighbour"


def test_check_reports_missing_capability(lan, tmp_path):
    result = cli(lan, "--config", lab_config(tmp_path), "check", wrapper=NO_NET_RAW)
    assert result.returncode == 1
    assert "FAIL  scan" in result.stdout and "CAP_NET_RAW" in result.stdout
