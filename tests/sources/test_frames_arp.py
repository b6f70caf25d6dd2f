"""arp_request builds, byte for byte, the ARP request scapy built for the daemon before."""

import ipaddress
import random

from scapy.layers.l2 import ARP, Ether

from presence.sources.frames import BROADCAST, arp_request


def scapy_arp_request(src_mac, src_ip, target_ip, dst_mac=BROADCAST):
    return bytes(Ether(src=src_mac, dst=dst_mac) / ARP(op=1, hwsrc=src_mac, psrc=src_ip, pdst=target_ip))


def random_mac(rng):
    mac = rng.randbytes(6).hex(":")
    return mac.upper() if rng.random() < 0.2 else mac


def random_ip(rng):
    return str(ipaddress.IPv4Address(rng.getrandbits(32)))


def test_the_arp_request_is_the_frame_scapy_builds_for_any_addresses():
    rng = random.Random(24)
    cases = [("02:00:00:00:00:02", "198.51.100.2", "0.0.0.0", BROADCAST),  # the WiFi sweep's template
             ("ff:ff:ff:ff:ff:ff", "255.255.255.255", "255.255.255.255", "00:00:00:00:00:00")]
    cases += [(random_mac(rng), random_ip(rng), random_ip(rng), rng.choice((BROADCAST, random_mac(rng))))
              for _ in range(1000)]
    for src_mac, src_ip, target_ip, dst_mac in cases:
        assert arp_request(src_mac, src_ip, target_ip, dst_mac) == scapy_arp_request(src_mac, src_ip, target_ip,
                                                                                     dst_mac), (src_mac, src_ip)
    assert arp_request("02:00:00:00:00:02", "198.51.100.2", "198.51.100.7") == scapy_arp_request(
        "02:00:00:00:00:02", "198.51.100.2", "198.51.100.7")  # the broadcast default
