"""The WiFi source's sweep and re-probes on a real (namespaced) network stack."""

import json
import sys

from tests.conftest import ROOT, cli, make_config, write_config

NO_NET_RAW = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--")
CIDR = "198.51.100.0/24"


def probe(lan, *args):
    result = lan.run(lan.scanner_ns, [sys.executable, "-m", "tests.scan_probe", CIDR, *args], cwd=ROOT, timeout=120)
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
