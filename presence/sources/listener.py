"""Passive listening between sweeps: a device's own ARP, DHCP or mDNS frame is a fresh sighting."""

import ctypes
import logging
import select
import socket
import struct
from collections import OrderedDict

from presence.config import defaults
from presence.sources.frames import ETH_P_ALL, PASSIVE_FILTER, parse_heard
from presence.sources.network_interfaces import ScanError, in_networks, interface_addresses, interface_groups
from presence.observations import DeviceSighting, SourceReport
from presence.sources.vendors import looks_personal
from presence.sources.wifi import drain, open_packet_socket

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
    """Hear devices announce themselves (joining WiFi, renewing DHCP, mDNS) on every swept LAN.

    People's devices (`urgent` MACs) are reported at once; all others in one batch per
    `batch_interval`. One thread listens on one socket per interface.
    """

    name = "wifi-listen"
    first_wait = False  # it may hear nothing for a long time; the sweep is what the first tick waits for

    def __init__(self, network_config, known_ips=None, urgent=frozenset(), min_interval=defaults.PASSIVE_MIN_INTERVAL,
                 batch_interval=defaults.PASSIVE_BATCH_INTERVAL, batch_max=defaults.PASSIVE_BATCH_MAX,
                 max_tracked=defaults.PASSIVE_MAX_TRACKED, recheck=defaults.PASSIVE_RECHECK):
        self.network_config = network_config
        self.known_ips = known_ips if known_ips is not None else {}
        self.urgent = frozenset(urgent)
        self.min_interval = min_interval
        self.batch_interval = batch_interval
        self.batch_max = batch_max
        self.max_tracked = max_tracked
        self.recheck = recheck
        # mac -> (time of its last report, its last hostname), least recently reported first
        self._last_report = OrderedDict()
        self._batch = {}
        self._last_batch = float("-inf")
        self.dropped = 0
        self.flooded = False
        self.flood_dropped = 0

    def run(self, emit, stop, clock):
        """Listen until `stop` is set, calling `emit(report)` for each report; follow interfaces that
        come and go (a LAN that is down at start, a USB adapter unplugged)."""
        now = clock.now
        while not stop.is_set():
            groups = interface_groups(self.network_config)[0]
            sockets = self._open(groups, emit, now)
            if sockets is None:
                return
            try:
                self._listen(sockets, groups, emit, stop, now)
            except OSError as error:
                emit(SourceReport(source=self.name, at=now(), ok=False, error=f"listening failed: {error}"))
                clock.wait(stop, self.recheck)
            finally:
                for sock in sockets:
                    sock.close()

    def close(self):
        """Nothing to let go: `run` closes its sockets when it ends."""

    def _listen(self, sockets, groups, emit, stop, now):
        """Hear frames until `stop` is set, or until the interfaces to listen on have changed."""
        recheck = now() + self.recheck
        while not stop.is_set():
            if now() >= recheck:
                if len(sockets) < len(groups) or interface_groups(self.network_config)[0] != groups:
                    return
                recheck = now() + self.recheck
            if not sockets:
                stop.wait(0.2)
                continue
            ready = select.select(list(sockets), [], [], 0.2)[0]
            for sock in ready:
                own_mac, networks = sockets[sock]
                for frame, address in _burst(sock):
                    report = self.hear(frame, address[2], own_mac, now(), networks)
                    if report:
                        emit(report)
            batch = self.flush(now())
            if batch:
                emit(batch)
            if ready:
                # On a busy LAN, let frames gather: fewer system calls per frame, and a bounded
                # share of a core however fast they come (the kernel drops what overflows).
                stop.wait(defaults.PASSIVE_BURST_PAUSE)

    def _open(self, groups, emit, now):
        """{socket: (own mac, networks)} for each interface that can be listened on; None without CAP_NET_RAW."""
        sockets = {}
        for iface, networks in groups.items():
            try:
                own_mac, _ = interface_addresses(iface)
                sock = open_packet_socket(iface, ETH_P_ALL)
            except PermissionError:
                log.debug("Passive listening needs CAP_NET_RAW too; not listening")
                for sock in sockets:
                    sock.close()
                return None
            except (ScanError, OSError) as error:
                emit(SourceReport(source=self.name, at=now(), ok=False, error=f"cannot listen on {iface}: {error}"))
                continue
            attach_filter(sock, PASSIVE_FILTER)
            drain(sock)  # what arrived before the filter was attached is unfiltered
            sockets[sock] = (own_mac, networks)
        return sockets

    def hear(self, frame, packet_type, own_mac, at, networks=None):
        """Take in one received frame: a report of a person's device to emit now, else None (others wait
        for `flush`)."""
        heard = parse_heard(frame)
        if heard is None or packet_type == PACKET_OUTGOING or heard.mac == own_mac:
            return None
        previous = self._last_report.get(heard.mac)
        fresh = previous is None or at - previous[0] >= self.min_interval
        if not fresh and not (heard.hostname and heard.hostname != previous[1]):
            return None
        urgent = fresh and heard.mac in self.urgent
        if not urgent and heard.mac not in self._batch and len(self._batch) >= self.batch_max:
            self.dropped += 1
            return None
        self._remember(heard.mac, at, heard.hostname or (previous[1] if previous else None))
        ip = heard.ip if heard.ip and in_networks(heard.ip, networks or self.network_config.cidrs) else None
        sighting = DeviceSighting(mac=heard.mac, ip=ip, at=at, how=heard.how, hostname=heard.hostname,
                                  personal=looks_personal(heard.mac))
        if not urgent:
            self._batch[heard.mac] = sighting
            return None
        if ip:
            self.known_ips[heard.mac] = ip
        return SourceReport(source=self.name, at=at, ok=True, sightings=(sighting,))

    def flush(self, at):
        """The batch of other devices heard, as one report, when one is due at `at`; else None."""
        if not self._batch or at - self._last_batch < self.batch_interval:
            return None
        sightings, self._batch, self._last_batch = tuple(self._batch.values()), {}, at
        self._note_flood()
        return SourceReport(source=self.name, at=at, ok=True, sightings=sightings)

    def _note_flood(self):
        # Logged once when batches start overflowing and once when they stop, not per batch.
        if self.dropped and not self.flooded:
            log.warning("Passive listening: more than %d other devices heard within %.1f s (a flood?); "
                        "the rest are left out until it calms down", self.batch_max, self.batch_interval)
        elif not self.dropped and self.flooded:
            log.info("Passive listening: calm again; %d frames of other devices were left out",
                     self.flood_dropped)
            self.flood_dropped = 0
        self.flooded = bool(self.dropped)
        self.flood_dropped += self.dropped
        self.dropped = 0

    def _remember(self, mac, at, hostname):
        self._last_report[mac] = (at, hostname)
        self._last_report.move_to_end(mac)
        if len(self._last_report) > self.max_tracked:
            self._last_report.popitem(last=False)


def _burst(sock):
    """Yield (frame, address) of up to PASSIVE_READ_BURST frames waiting on `sock`, without blocking."""
    for _ in range(defaults.PASSIVE_READ_BURST):
        try:
            yield sock.recvfrom(2048, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
