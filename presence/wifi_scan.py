"""The WiFi source: a broadcast ARP sweep, then unicast re-probes of the people's missing devices."""

import logging
import select
import socket
import time

from presence import defaults
from presence.frames import ETH_P_ARP, arp_request, parse_arp_reply, udp_knock, with_destination, with_target
from presence.interfaces import ScanError, in_networks, interface_addresses, scan_interface
from presence.neighbours import read_neighbours
from presence.observations import DeviceSighting, SourceReport

log = logging.getLogger(__name__)

NO_RAW_SOCKET_HELP = (
    "sending ARP requests needs the CAP_NET_RAW capability, which this process lacks; grant it "
    "(systemd: AmbientCapabilities=CAP_NET_RAW; by hand: run as root, or `setcap cap_net_raw+ep` "
    "on the Python interpreter)")


def open_packet_socket(iface, protocol):
    """A raw Ethernet socket on `iface`; PermissionError carries the how-to-grant message."""
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(protocol))
    except PermissionError:
        raise PermissionError(NO_RAW_SOCKET_HELP) from None
    try:
        sock.bind((iface, protocol))
    except OSError as error:
        sock.close()
        raise ScanError(f"cannot use interface {iface}: {error.strerror}") from None
    return sock


def drain(sock):
    """Discard every frame already waiting on `sock`."""
    while select.select([sock], [], [], 0)[0]:
        sock.recv(65536)


class ArpSweeper:
    """One reused raw socket: a burst of broadcast requests, then unicast re-probes of missing devices."""

    def __init__(self, iface, networks, knock=True, listen=defaults.DEFAULT_SWEEP_LISTEN):
        self.iface = iface
        self.networks = tuple(networks)
        self.knock = knock
        self.listen = listen
        self.mac, self.ip = interface_addresses(iface)
        self.sock = open_packet_socket(iface, ETH_P_ARP)
        self.template = arp_request(self.mac, self.ip, "0.0.0.0")
        self.frames = [with_target(self.template, str(host)) for network in self.networks
                       for host in network.hosts() if str(host) != self.ip]

    def sweep(self, watch=None):
        """Return {mac: ip} of every device that answered; `watch` maps MACs to re-probe to their last IP."""
        # Frames queued since the last sweep carry no time of their own; only fresh replies count.
        drain(self.sock)
        found = {}
        for frame in self.frames:
            self.sock.send(frame)
        self._collect(found, self.listen)
        missing = {mac: ip for mac, ip in (watch or {}).items() if mac not in found}
        if missing:
            self._reprobe(missing, found)
        return found

    def _reprobe(self, missing, found):
        # A dozing phone misses most broadcasts but gets every unicast frame: ask it directly.
        frames = {}
        for mac, ip in missing.items():
            if ip and in_networks(ip, self.networks):
                frames[mac] = [with_destination(with_target(self.template, ip), mac)]
                if self.knock:
                    frames[mac].append(udp_knock(self.mac, self.ip, mac, ip))
            else:
                frames[mac] = [with_destination(frame, mac) for frame in self.frames]
        wanted = set(frames)
        for _ in range(defaults.REPROBE_TRIES):
            for mac, batch in frames.items():
                if mac not in found:
                    for frame in batch:
                        self.sock.send(frame)
            self._collect(found, defaults.REPROBE_SPACING, until_found=wanted)
        self._collect(found, defaults.REPROBE_LISTEN, until_found=wanted)

    def _collect(self, found, seconds, until_found=None):
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if until_found is not None and until_found <= found.keys():
                return
            if not select.select([self.sock], [], [], remaining)[0]:
                continue
            reply = parse_arp_reply(self.sock.recv(128))
            if reply and reply[0] != self.mac and in_networks(reply[1], self.networks):
                found[reply[0]] = reply[1]


    def close(self):
        self.sock.close()


class WifiSource:
    """Report which devices are on the LAN now; without CAP_NET_RAW, from the neighbour table."""

    name = "wifi"

    def __init__(self, network_config, watch=(), known_ips=None, knock=True):
        self.network_config = network_config
        self.watch = tuple(watch)
        self.known_ips = known_ips if known_ips is not None else {}
        self.knock = knock
        self.sweeper = None
        self.fallback = False

    def poll(self, now):
        """Scan once; failures come back as a report with `ok=False`."""
        try:
            found, how = self.scan()
        except (ScanError, OSError) as error:
            self.close()
            return SourceReport(source=self.name, at=now, ok=False, error=f"scan failed: {error}")
        sightings = tuple(DeviceSighting(mac=mac, ip=ip, at=now, how=how) for mac, ip in sorted(found.items()))
        return SourceReport(source=self.name, at=now, ok=True, sightings=sightings)

    def scan(self):
        """Return ({mac: ip}, how) from a sweep, or from the neighbour table when raw sockets are denied."""
        iface = scan_interface(self.network_config)
        if not self.fallback and self.sweeper is None:
            try:
                self.sweeper = ArpSweeper(iface, self.network_config.cidrs, knock=self.knock)
            except PermissionError as error:
                log.warning("WiFi: %s. Falling back to the kernel's neighbour table, which only "
                            "knows devices this host talked to recently.", error)
                self.fallback = True
        if self.fallback:
            return read_neighbours(iface, self.network_config.cidrs), "neighbour"
        found = self.sweeper.sweep({mac: self.known_ips.get(mac) for mac in self.watch})
        self.known_ips.update(found)
        return found, "arp"

    def close(self):
        if self.sweeper:
            self.sweeper.close()
            self.sweeper = None
