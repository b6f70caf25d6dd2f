"""The WiFi source's sweep and re-probes on a real (namespaced) network stack."""

import ipaddress
import json
import sys

from presence.config.model import NetworkConfig
from presence.observations import NetworkHealth
from presence.sources.wifi import SearchBackoff, WifiSource, network_health
from tests.conftest import ROOT, cli, make_config, write_config
from testbed.lab.netns_thread import call_in_netns

NO_NET_RAW = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--")
CIDR = "198.51.100.0/24"


def probe(lan, *args):
    result = lan.run(lan.scanner_ns, [sys.executable, "-m", "testbed.scan_probe", CIDR, *args], cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def lab_config(tmp_path, **overrides):
    raw = make_config(**overrides)
    raw["people"][0]["macs"] = ["02:00:00:00:01:01"]
    return write_config(tmp_path / "people.yaml", raw)


def test_sweep_finds_every_responsive_device_with_its_ip(lan):
    devices = [lan.add_device(f"d{i}", f"02:00:00:00:10:{i:02x}", f"198.51.100.{20 + i}") for i in range(12)]
    (round_,) = probe(lan)
    assert round_["found"] == {d.mac: d.ip for d in devices} and round_["how"] == "arp"


def test_dozing_phones_are_found_every_round_by_unicast_reprobes(nft_lan):
    lan = nft_lan
    phones = [lan.add_device(f"phone{i}", f"da:a1:19:00:00:{i:02x}", f"198.51.100.{40 + i}") for i in range(2)]
    for phone in phones:
        phone.doze()
    watched = [f"{phone.mac}={phone.ip}" for phone in phones]
    rounds = probe(lan, *[arg for item in watched for arg in ("--watch", item)], "--rounds", "10")
    assert all(len(r["found"]) == 2 for r in rounds)
    unwatched = probe(lan, "--rounds", "10")
    assert sum(len(r["found"]) for r in unwatched) < 20, "broadcasts alone should miss a dozing phone"


def test_a_watched_device_whose_ip_is_unknown_is_probed_across_the_range(nft_lan):
    lan = nft_lan
    phone = lan.add_device("phone", "da:a1:19:00:00:07", "198.51.100.77")
    phone.doze(keep_one_in=1000)  # broadcasts practically never reach it
    rounds = probe(lan, "--watch", phone.mac, "--rounds", "3", "--no-knock")
    assert all(r["found"] == {phone.mac: phone.ip} for r in rounds)


def test_a_stale_kernel_cache_entry_never_counts(nft_lan):
    lan = nft_lan
    phone = lan.add_device("phone", "da:a1:19:00:00:08", "198.51.100.78")
    assert lan.ping(phone.ip)  # now in the scanner's neighbour table
    phone.go_silent()
    (round_,) = probe(lan, "--watch", f"{phone.mac}={phone.ip}")
    assert round_["found"] == {}
    phone.wake()
    (round_,) = probe(lan, "--watch", f"{phone.mac}={phone.ip}")
    assert round_["found"] == {phone.mac: phone.ip}


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


T0 = 1_800_000_000.0
HOSTS = 253  # 198.51.100.0/24 without the scanner's own address


def lab_source(**kwargs):
    return WifiSource(NetworkConfig(cidrs=(ipaddress.IPv4Network(CIDR),)), **kwargs)


def test_reprobes_are_bounded_a_known_address_costs_six_frames_an_unknown_one_a_rare_search(lan):
    """Old behaviour: every sweep re-probed an unknown address across the range three times (4 x 253 frames)."""
    lan.add_device("tv", "02:00:00:00:10:20", "198.51.100.20")  # someone answers: the LAN is up
    asked = {"da:a1:19:00:00:09": None, "da:a1:19:00:00:0a": "198.51.100.77"}  # neither answers
    source = lab_source(reprobe=lambda: dict(asked))
    sent = []
    for sweep in range(8):
        before = lan.frames_sent()
        report = call_in_netns(lan.scanner_ns, source.poll, T0 + 30 * sweep)
        sent.append(lan.frames_sent() - before)
        assert report.ok and [s.mac for s in report.sightings] == ["02:00:00:00:10:20"]
    source.close()
    # Broadcast sweep, then ARP + knock three times to the known address, and one unicast request per
    # address for the unknown one: at the first sweep, then after 2 and 4 more. The first sweep also
    # searches past the known address that stays silent (it may be stale), once.
    assert sent == [HOSTS + 6 + (HOSTS if sweep in (0, 2, 6) else 0) + (HOSTS if sweep == 0 else 0)
                    for sweep in range(8)]


def test_each_sighting_says_whether_the_device_looks_personal(lan):
    lan.add_device("phone", "da:a1:19:00:00:31", "198.51.100.31")  # a randomized MAC
    lan.add_device("printer", "00:1b:a9:00:00:32", "198.51.100.32")  # Brother's
    source = lab_source()
    report = call_in_netns(lan.scanner_ns, source.poll, T0)
    source.close()
    assert {s.mac: s.personal for s in report.sightings} == {"da:a1:19:00:00:31": True, "00:1b:a9:00:00:32": False}


def test_a_device_found_by_the_search_is_reprobed_at_its_address_from_then_on(nft_lan):
    lan = nft_lan
    phone = lan.add_device("phone", "da:a1:19:00:00:0b", "198.51.100.78")
    phone.doze(keep_one_in=1000)
    source = lab_source(reprobe=lambda: {phone.mac: None}, knock=False)
    sent = []
    for sweep in range(3):
        before = lan.frames_sent()
        report = call_in_netns(lan.scanner_ns, source.poll, T0 + 30 * sweep)
        sent.append(lan.frames_sent() - before)
        assert [(s.mac, s.ip) for s in report.sightings] == [(phone.mac, phone.ip)]
    source.close()
    assert sent[0] == 2 * HOSTS and sent[1:] == [HOSTS + 1, HOSTS + 1]


def test_search_backoff_doubles_per_device_one_search_a_sweep_at_least_hourly():
    backoff = SearchBackoff(first_gap=2, max_gap=3600, per_sweep=1)
    chosen = [backoff.choose(["a"], T0 + 30 * sweep) for sweep in range(16)]
    assert [sweep for sweep, macs in enumerate(chosen) if macs] == [0, 2, 6, 14]
    backoff = SearchBackoff(first_gap=2, max_gap=600, per_sweep=1)
    chosen = [backoff.choose(["a"], T0 + 300 * sweep) for sweep in range(8)]
    assert [sweep for sweep, macs in enumerate(chosen) if macs] == [0, 2, 4, 6]  # 600 s at most


def test_search_backoff_takes_turns_and_forgets_devices_no_longer_asked_about():
    backoff = SearchBackoff(first_gap=2, max_gap=3600, per_sweep=1)
    assert [backoff.choose(["a", "b", "c"], T0 + i)[0] for i in range(4)] == ["a", "b", "c", "a"]
    assert backoff.choose(["b"], T0 + 4) == ["b"]
    assert set(backoff.plans) == {"b"}
    assert backoff.choose(["a", "b"], T0 + 5) == ["a"]  # asked about again: searched at once


def test_network_health_reasons():
    network = ipaddress.IPv4Network(CIDR)
    assert network_health(network, ["198.51.100.7"], None, False) == NetworkHealth(CIDR, True)
    assert network_health(network, ["203.0.113.5"], "198.51.100.1", True) == NetworkHealth(
        CIDR, False, "nothing answered on 198.51.100.0/24, not even the gateway 198.51.100.1")
    assert network_health(network, [], None, False).reason == "nothing answered on 198.51.100.0/24"
    assert network_health(network, ["198.51.100.7"], "198.51.100.1", True) == NetworkHealth(
        CIDR, False, "the gateway 198.51.100.1 did not answer on 198.51.100.0/24, not even to a unicast re-probe")
    # A gateway that never answered (a router that ignores ARP from us) does not count.
    assert network_health(network, ["198.51.100.7"], "198.51.100.1", False).up
