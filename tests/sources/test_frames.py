"""Frame building and parsing, on hand-made bytes."""

import ipaddress
import struct

from presence.sources.frames import (BROADCAST, Heard, arp_request, parse_arp_reply, parse_heard, udp_knock,
                                     with_destination, with_target)

ME, PHONE = "02:00:00:00:00:02", "da:a1:19:00:00:22"


def raw_mac(mac):
    return bytes.fromhex(mac.replace(":", ""))


def arp(op, sender_mac, sender_ip, target_ip, eth_src=None, eth_dst=BROADCAST):
    return (raw_mac(eth_dst) + raw_mac(eth_src or sender_mac) + b"\x08\x06" +
            struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + raw_mac(sender_mac) +
            ipaddress.IPv4Address(sender_ip).packed + b"\x00" * 6 + ipaddress.IPv4Address(target_ip).packed)


def udp_frame(src_mac, src_ip, dst_ip, sport, dport, payload, dst_mac=BROADCAST):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     ipaddress.IPv4Address(src_ip).packed, ipaddress.IPv4Address(dst_ip).packed)
    return raw_mac(dst_mac) + raw_mac(src_mac) + b"\x08\x00" + ip + udp


def dhcp_request(mac, requested, hostname):
    bootp = (b"\x01\x01\x06\x00" + b"\x00" * 8 + b"\x00" * 16 + raw_mac(mac) + b"\x00" * 10 +
             b"\x00" * 192 + b"\x63\x82\x53\x63")
    options = (b"\x35\x01\x03" + b"\x32\x04" + ipaddress.IPv4Address(requested).packed +
               bytes([12, len(hostname)]) + hostname.encode() + b"\xff")
    return udp_frame(mac, "0.0.0.0", "255.255.255.255", 68, 67, bootp + options)


def mdns_announcement(mac, ip, hostname):
    name = b"".join(bytes([len(label)]) + label.encode() for label in (hostname, "local")) + b"\x00"
    answers = (name + struct.pack("!HHIH", 1, 0x8001, 120, 4) + ipaddress.IPv4Address(ip).packed +
               b"\xc0\x0c" + struct.pack("!HHIH", 1, 0x8001, 120, 4) + ipaddress.IPv4Address(ip).packed)
    payload = struct.pack("!HHHHHH", 0, 0x8400, 0, 2, 0, 0) + answers
    return udp_frame(mac, ip, "224.0.0.251", 5353, 5353, payload, dst_mac="01:00:5e:00:00:fb")


def test_arp_request_template_and_copies():
    frame = arp_request(ME, "198.51.100.2", "198.51.100.7")
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == raw_mac(ME) and frame[12:14] == b"\x08\x06"
    assert frame[38:42] == bytes([198, 51, 100, 7])
    other = with_destination(with_target(frame, "198.51.100.9"), PHONE)
    assert other[:6] == raw_mac(PHONE) and other[38:42] == bytes([198, 51, 100, 9])
    assert other[6:38] == frame[6:38]


def test_arp_reply_counts_only_from_its_own_mac():
    assert parse_arp_reply(arp(2, PHONE, "198.51.100.22", "198.51.100.2", eth_dst=ME)) == (PHONE, "198.51.100.22")
    proxied = arp(2, PHONE, "198.51.100.22", "198.51.100.2", eth_src="02:00:00:00:00:99", eth_dst=ME)
    assert parse_arp_reply(proxied) is None
    assert parse_arp_reply(arp(1, PHONE, "198.51.100.22", "198.51.100.2")) is None
    assert parse_arp_reply(b"\x00" * 20) is None


def test_heard_arp_request_and_address_probe():
    assert parse_heard(arp(1, PHONE, "198.51.100.22", "198.51.100.1")) == Heard(PHONE, "198.51.100.22", "arp")
    probe = arp(1, PHONE, "0.0.0.0", "198.51.100.23")
    assert parse_heard(probe) == Heard(PHONE, "198.51.100.23", "arp")


def test_heard_dhcp_request_with_hostname():
    heard = parse_heard(dhcp_request(PHONE, "198.51.100.22", "Pixel-7"))
    assert heard == Heard(PHONE, "198.51.100.22", "dhcp", "Pixel-7")


def test_heard_mdns_announcement_with_compressed_names():
    heard = parse_heard(mdns_announcement(PHONE, "198.51.100.22", "Susans-iPhone"))
    assert heard == Heard(PHONE, "198.51.100.22", "mdns", "Susans-iPhone")


def test_garbage_and_truncated_frames_are_ignored():
    assert parse_heard(b"") is None and parse_heard(b"\x00" * 13) is None
    assert parse_heard(dhcp_request(PHONE, "198.51.100.22", "x")[:200]) is None  # no magic cookie
    mdns = mdns_announcement(PHONE, "198.51.100.22", "Pixel-7")
    assert parse_heard(mdns[:60]) == Heard(PHONE, "198.51.100.22", "mdns", None)  # seen, name cut off
    header = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
    looping = udp_frame(PHONE, "198.51.100.22", "224.0.0.251", 5353, 5353, header + b"\xc0\x0c" + b"\x00" * 10)
    assert parse_heard(looping) == Heard(PHONE, "198.51.100.22", "mdns", None)
    group_source = raw_mac(BROADCAST) + raw_mac("01:00:5e:00:00:01") + mdns[12:]
    assert parse_heard(group_source) is None


def test_udp_knock_is_a_valid_unicast_ipv4_datagram():
    frame = udp_knock(ME, "198.51.100.2", PHONE, "198.51.100.22")
    assert frame[:6] == raw_mac(PHONE) and frame[12:14] == b"\x08\x00"
    header = frame[14:34]
    total = sum(struct.unpack("!10H", header))
    assert (total + (total >> 16)) & 0xFFFF == 0xFFFF  # the header checksum verifies
    assert struct.unpack("!HH", frame[34:38]) == (5353, 5353)
    assert frame[30:34] == bytes([198, 51, 100, 22])
