"""Ethernet frames the WiFi source sends and hears: pure building and parsing, no sockets."""

import ipaddress
import struct
from dataclasses import dataclass

BROADCAST = "ff:ff:ff:ff:ff:ff"
ETH_P_ARP = 0x0806
ETH_P_ALL = 0x0003
MDNS_PORT = 5353
DHCP_SERVER_PORT = 67
DHCP_CLIENT_PORT = 68
_DHCP_MAGIC = b"\x63\x82\x53\x63"

# Classic BPF for `arp or (ip and udp and (port 67 or port 68 or port 5353))` on Ethernet,
# as `tcpdump -dd` compiles it: the kernel drops everything else before Python sees it.
PASSIVE_FILTER = (
    (0x28, 0, 0, 0x0000000c), (0x15, 14, 0, 0x00000806), (0x15, 0, 14, 0x00000800),
    (0x30, 0, 0, 0x00000017), (0x15, 0, 12, 0x00000011), (0x28, 0, 0, 0x00000014),
    (0x45, 10, 0, 0x00001fff), (0xb1, 0, 0, 0x0000000e), (0x48, 0, 0, 0x0000000e),
    (0x15, 6, 0, 0x00000043), (0x15, 5, 0, 0x00000044), (0x15, 4, 0, 0x000014e9),
    (0x48, 0, 0, 0x00000010), (0x15, 2, 0, 0x00000043), (0x15, 1, 0, 0x00000044),
    (0x15, 0, 1, 0x000014e9), (0x06, 0, 0, 0x00040000), (0x06, 0, 0, 0x00000000),
)


@dataclass(frozen=True)
class Heard:
    """A frame that proves its sender is on the LAN now; `ip`/`hostname` are None when unknown."""

    mac: str
    ip: str
    how: str
    hostname: str = None


def mac_text(raw):
    """Six raw bytes as a MAC in text, lower case with colons."""
    return raw.hex(":")


def arp_request(src_mac, src_ip, target_ip, dst_mac=BROADCAST):
    """An ARP who-has for `target_ip`, sent to `dst_mac` (broadcast, or unicast to re-probe one device)."""
    src = bytes.fromhex(src_mac.replace(":", ""))
    ethernet = bytes.fromhex(dst_mac.replace(":", "")) + src + struct.pack("!H", ETH_P_ARP)
    # Ethernet/IPv4 (1, 0x0800, 6, 4), operation 1 (request), target hardware address all zero.
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src, ipaddress.IPv4Address(src_ip).packed,
                      bytes(6), ipaddress.IPv4Address(target_ip).packed)
    return ethernet + arp


def with_target(frame, target_ip):
    """The same ARP request frame for another target address (a fast copy of a built template)."""
    return frame[:38] + ipaddress.IPv4Address(target_ip).packed + frame[42:]


def with_destination(frame, dst_mac):
    """The same frame sent to another Ethernet destination."""
    return bytes.fromhex(dst_mac.replace(":", "")) + frame[6:]


def udp_knock(src_mac, src_ip, dst_mac, dst_ip, port=MDNS_PORT):
    """A unicast UDP datagram to a device's mDNS port: a dozing phone's radio wakes for unicast."""
    payload = b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09_services\x07_dns-sd\x04_udp\x05local\x00\x00\x0c\x00\x01"
    udp = struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 1, 17, 0,
                         ipaddress.IPv4Address(src_ip).packed, ipaddress.IPv4Address(dst_ip).packed)
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    ethernet = bytes.fromhex(dst_mac.replace(":", "") + src_mac.replace(":", "")) + b"\x08\x00"
    return ethernet + header + udp


def _checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def parse_arp_reply(frame):
    """Return (mac, ip) of an ARP reply whose Ethernet source is its own sender; else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06" or frame[20:22] != b"\x00\x02":
        return None
    if frame[6:12] != frame[22:28]:
        return None
    return mac_text(frame[22:28]), str(ipaddress.IPv4Address(frame[28:32]))


def parse_heard(frame):
    """Return what an ARP, DHCP or mDNS frame tells about its sender, or None."""
    if len(frame) < 14 or frame[6] & 0x01:
        return None
    mac = mac_text(frame[6:12])
    ethertype = frame[12:14]
    if ethertype == b"\x08\x06" and len(frame) >= 42 and frame[6:12] == frame[22:28]:
        sender, target = frame[28:32], frame[38:42]
        # An address probe (RFC 5227) has no sender address yet: the target is the one it wants.
        ip = sender if sender != b"\x00" * 4 else target
        return Heard(mac=mac, ip=str(ipaddress.IPv4Address(ip)), how="arp")
    if ethertype != b"\x08\x00" or len(frame) < 34 or frame[23] != 17:
        return None
    ihl = (frame[14] & 0x0F) * 4
    udp = 14 + ihl
    if len(frame) < udp + 8:
        return None
    src_port, dst_port = struct.unpack("!HH", frame[udp:udp + 4])
    src_ip = str(ipaddress.IPv4Address(frame[26:30]))
    payload = frame[udp + 8:]
    if src_port == DHCP_CLIENT_PORT and dst_port == DHCP_SERVER_PORT:
        return _dhcp(mac, src_ip, payload)
    if src_port == MDNS_PORT:
        return Heard(mac=mac, ip=src_ip, how="mdns", hostname=_mdns_hostname(payload, frame[26:30]))
    return None


def _dhcp(mac, src_ip, payload):
    if len(payload) < 240 or payload[236:240] != _DHCP_MAGIC:
        return None
    options = _dhcp_options(payload[240:])
    ip = None
    if len(options.get(50, b"")) == 4:
        ip = str(ipaddress.IPv4Address(options[50]))
    elif payload[12:16] != b"\x00" * 4:
        ip = str(ipaddress.IPv4Address(payload[12:16]))
    elif src_ip != "0.0.0.0":
        ip = src_ip
    hostname = _clean_name(options.get(12, b""))
    return Heard(mac=mac, ip=ip, how="dhcp", hostname=hostname)


def _dhcp_options(data):
    options, i = {}, 0
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            break
        code, length = data[i], data[i + 1]
        options[code] = data[i + 2:i + 2 + length]
        i += 2 + length
    return options


def _mdns_hostname(payload, src_ip_raw):
    """The `<name>.local` whose A record is the sender's own address, if the message has one."""
    try:
        counts = struct.unpack("!HHHH", payload[4:12])
        offset = 12
        for _ in range(counts[0]):
            _, offset = _dns_name(payload, offset)
            offset += 4
        for _ in range(counts[1] + counts[2] + counts[3]):
            name, offset = _dns_name(payload, offset)
            rtype, _cls, _ttl, length = struct.unpack("!HHIH", payload[offset:offset + 10])
            rdata = payload[offset + 10:offset + 10 + length]
            offset += 10 + length
            if rtype == 1 and rdata == src_ip_raw and name.lower().endswith(".local"):
                return _clean_name(name[:-len(".local")].encode())
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _dns_name(data, offset, depth=0):
    labels = []
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if depth > 10:
                raise ValueError("DNS name pointer loop")
            pointer = struct.unpack("!H", data[offset:offset + 2])[0] & 0x3FFF
            name, _ = _dns_name(data, pointer, depth + 1)
            labels.append(name)
            return ".".join(labels), offset + 2
        if length == 0:
            return ".".join(labels), offset + 1
        labels.append(data[offset + 1:offset + 1 + length].decode("utf-8", "replace"))
        offset += 1 + length


def _clean_name(raw):
    text = raw.decode("utf-8", "replace").strip("\x00 .")
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:63] or None
