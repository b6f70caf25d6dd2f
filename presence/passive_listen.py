"""Passive listening between sweeps: a device's own ARP, DHCP or mDNS frame is a fresh sighting."""

import ctypes
import logging
import select
import socket
import struct

from presence import defaults
from presence.frames import ETH_P_ALL, PASSIVE_FILTER, parse_heard
from presence.interfaces import ScanError, in_networks, interface_addresses, scan_interface
from presence.observations import DeviceSighting, SourceReport
from presence.wifi_scan import drain, open_packet_socket

log = logging.getLogger(__name__)

SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4


def attach_filter(sock, program):
    """Attach a classic BPF program, so the kernel hands over only the frames it accepts."""
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class WifiListener:
    """Hear devices announce themselves (joining WiFi, renewing DHCP, mDNS) and report them at once."""

    name = "wifi-listen"

    def __init__(self, network_config, known_ips=None, min_interval=defaults.PASSIVE_MIN_INTERVAL):
        self.network_config = network_config
        self.known_ips = known_ips if known_ips is not None else {}
        self.min_interval = min_interval
        self._last_report = {}

    def run(self, emit, stop, now):
        """Listen until `stop` is set, calling `emit(report)` for each device heard."""
        try:
            iface = scan_interface(self.network_config)
            own_mac, _ = interface_addresses(iface)
            sock = open_packet_socket(iface, ETH_P_ALL)
        except PermissionError:
            log.debug("Passive listening needs CAP_NET_RAW too; not listening")
            return
        except (ScanError, OSError) as error:
            emit(SourceReport(source=self.name, at=now(), ok=False, error=f"cannot listen: {error}"))
            return
        try:
            attach_filter(sock, PASSIVE_FILTER)
            drain(sock)  # what arrived before the filter was attached is unfiltered
            while not stop.is_set():
                if not select.select([sock], [], [], 0.2)[0]:
                    continue
                frame, address = sock.recvfrom(2048)
                report = self.hear(frame, address[2], own_mac, now())
                if report:
                    emit(report)
        except OSError as error:
            emit(SourceReport(source=self.name, at=now(), ok=False, error=f"listening failed: {error}"))
        finally:
            sock.close()

    def hear(self, frame, packet_type, own_mac, at):
        """Turn one received frame into a report, or None when it tells nothing new."""
        heard = parse_heard(frame)
        if heard is None or packet_type == PACKET_OUTGOING or heard.mac == own_mac:
            return None
        ip = heard.ip if heard.ip and in_networks(heard.ip, self.network_config.cidrs) else None
        previous = self._last_report.get(heard.mac)
        if previous and at - previous[0] < self.min_interval and not (heard.hostname and heard.hostname != previous[1]):
            return None
        self._last_report[heard.mac] = (at, heard.hostname or (previous[1] if previous else None))
        if ip:
            self.known_ips[heard.mac] = ip
        sighting = DeviceSighting(mac=heard.mac, ip=ip, at=at, how=heard.how, hostname=heard.hostname)
        return SourceReport(source=self.name, at=at, ok=True, sightings=(sighting,))

