"""The WiFi source: a broadcast ARP sweep of each LAN, unicast re-probes of the devices the daemon names,
and whether each LAN could be reached at all."""

import logging
import select
import socket
import time

from presence.config import defaults
from presence.sources.frames import (ETH_P_ARP, arp_request, parse_arp_reply, udp_knock, with_destination,
                                     with_target)
from presence.sources.network_interfaces import (ScanError, default_gateways, in_networks, interface_addresses,
                                                 interface_groups, link_problem)
from presence.sources.neighbours import read_neighbours
from presence.sources.reprobe import SearchBackoff
from presence.sources.vendors import looks_personal
from presence.observations import DeviceSighting, NetworkHealth, SourceReport

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
    """One reused raw socket on one interface: a burst of broadcast requests, then unicast re-probes."""

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

    def sweep(self, reprobe=None, search=(), quiet=None):
        """Return {mac: ip} of every device that answered.

        Of the devices that missed the broadcast, `reprobe` ({mac: ip}) get unicast requests and the mDNS
        knock, `quiet` ({mac: ip}, the gateway) the requests only, up to REPROBE_TRIES times each; each MAC
        in `search` gets one unicast request per address of this interface's networks: at once when its
        address is unknown, after the first unicast try when it has one that did not answer.
        """
        # Frames queued since the last sweep carry no time of their own; only fresh replies count.
        drain(self.sock)
        found = {}
        for frame in self.frames:
            self.sock.send(frame)
        self._collect(found, self.listen)
        frames = {**self._unicast(reprobe or {}, self.knock, found), **self._unicast(quiet or {}, False, found)}
        searches = {mac: [with_destination(frame, mac) for frame in self.frames] for mac in search if mac not in found}
        if frames or searches:
            self._reprobe(frames, searches, found)
        return found

    def _unicast(self, devices, knock, found):
        frames = {}
        for mac, ip in devices.items():
            if mac not in found and ip and in_networks(ip, self.networks):
                frames[mac] = [with_destination(with_target(self.template, ip), mac)]
                if knock:
                    frames[mac].append(udp_knock(self.mac, self.ip, mac, ip))
        return frames

    def _reprobe(self, frames, searches, found):
        # A dozing phone misses most broadcasts but gets every unicast frame: ask it directly.
        wanted = set(frames) | set(searches)
        later = {mac for mac in searches if mac in frames}  # searched past its address if silent there
        self._send_searches(searches, found, skip=later)
        for attempt in range(defaults.REPROBE_TRIES if frames else 0):
            for mac, batch in frames.items():
                if mac not in found:
                    for frame in batch:
                        self.sock.send(frame)
            self._collect(found, defaults.REPROBE_SPACING, until_found=wanted)
            if attempt == 0:
                # Silent at its address: the address may be stale (a new lease while nobody looked).
                self._send_searches({mac: searches[mac] for mac in later}, found)
        self._collect(found, defaults.REPROBE_LISTEN, until_found=wanted)

    def _send_searches(self, searches, found, skip=()):
        for mac, batch in searches.items():
            if mac not in found and mac not in skip:
                for frame in batch:
                    self.sock.send(frame)

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
        """Close the raw socket."""
        self.sock.close()


def network_health(network, found_ips, gateway, gateway_known):
    """Whether `network` answered this sweep; `gateway` (its default gateway, or None) counts once it has
    ever answered (`gateway_known`)."""
    cidr = str(network)
    if not any(in_networks(ip, (network,)) for ip in found_ips):
        also = f", not even the gateway {gateway}" if gateway else ""
        return NetworkHealth(cidr, False, f"nothing answered on {cidr}{also}")
    if gateway and gateway_known and gateway not in found_ips:
        return NetworkHealth(cidr, False, f"the gateway {gateway} did not answer on {cidr}, not even "
                                          "to a unicast re-probe")
    return NetworkHealth(cidr, True)


class WifiSource:
    """Report which devices are on the LAN(s) now and whether each LAN answered at all.

    `reprobe()` returns {mac: last ip or None} of the devices worth re-probing at this sweep (those of
    people home, within their grace, or not decided yet); without it, the fixed `watch` MACs are. The
    first sweep searches the whole range for each of them that does not answer at a known address.
    Without CAP_NET_RAW, it reads the kernel's neighbour table instead.
    """

    name = "wifi"

    def __init__(self, network_config, reprobe=None, watch=(), known_ips=None, knock=True):
        self.network_config = network_config
        self.reprobe = reprobe
        self.watch = tuple(watch)
        self.known_ips = known_ips if known_ips is not None else {}
        self.knock = knock
        self.sweepers = {}
        self.fallback = False
        self.searches = SearchBackoff()
        # network -> (gateway ip, its mac) once the network's default gateway has answered a sweep
        self.gateways = {}
        # network -> why it could not be swept at all in the last survey
        self.unswept = {}

    def poll(self, now):
        """Scan once; failures come back as a report with `ok=False`."""
        try:
            found, how, networks = self.survey(now)
        except (ScanError, OSError) as error:
            self.close()
            return SourceReport(source=self.name, at=now, ok=False, error=f"scan failed: {error}")
        sightings = tuple(DeviceSighting(mac=mac, ip=ip, at=now, how=how, personal=looks_personal(mac))
                          for mac, ip in sorted(found.items()))
        return SourceReport(source=self.name, at=now, ok=True, sightings=sightings, networks=networks)

    def scan(self, now=None):
        """Return ({mac: ip}, how) from a sweep, or from the neighbour table when raw sockets are denied.

        Raises ScanError when no configured network could be swept at all (no route, no interface, no link).
        """
        found, how, networks = self.survey(time.time() if now is None else now)
        if not found and self.unswept and len(self.unswept) == len(networks):
            raise ScanError("; ".join(dict.fromkeys(self.unswept.values())))
        return found, how

    def survey(self, now):
        """Return ({mac: ip}, how, (NetworkHealth per configured network, ...)) of one sweep of every LAN."""
        groups, self.unswept = interface_groups(self.network_config)
        if not self.fallback:
            self.unswept.update(self._open(groups))
        for iface, networks in groups.items():
            if (problem := self.unswept.get(networks[0]) or link_problem(iface)) is not None:
                self.unswept.update(dict.fromkeys(networks, problem))
        live = {iface: networks for iface, networks in groups.items() if networks[0] not in self.unswept}
        wanted = self.reprobe() if self.reprobe else dict.fromkeys(self.watch)
        if self.fallback:
            found, how = self._neighbours(live), "neighbour"
        else:
            found, how = (self._sweep(live, wanted, now) if live else {}), "arp"
        # Only the addresses of devices it may be asked to re-probe: an answer from every made-up MAC
        # of a hostile device must not grow this for ever.
        self.known_ips.update({mac: ip for mac, ip in found.items() if mac in wanted or mac in self.known_ips})
        gateways = default_gateways() if how == "arp" else []
        health = tuple(self._health(network, found, how, gateways) for network in self.network_config.cidrs)
        return found, how, health

    def _open(self, groups):
        """Open a sweeper per interface; return {network: problem} of those whose interface cannot be used."""
        for iface in [iface for iface, sweeper in self.sweepers.items() if sweeper.networks != groups.get(iface)]:
            self.sweepers.pop(iface).close()
        problems = {}
        for iface, networks in groups.items():
            if iface in self.sweepers:
                continue
            try:
                self.sweepers[iface] = ArpSweeper(iface, networks, knock=self.knock)
            except PermissionError as error:
                log.warning("WiFi: %s. Falling back to the kernel's neighbour table, which only "
                            "knows devices this host talked to recently.", error)
                self.fallback = True
                self.close()
                return {}
            except ScanError as error:
                problems.update(dict.fromkeys(networks, str(error)))
        return problems

    def _sweep(self, groups, asked, now):
        wanted = self._resolved(asked)
        unknown = [mac for mac, ip in wanted.items() if not ip]
        if self.searches.sweeps == 0:
            # A fresh start knows few addresses, and a phone at home may be dozing: each device asked about
            # gets its first search now (unknown addresses first), not one a sweep after the first tick.
            search = self.searches.choose(unknown + [mac for mac in wanted if mac not in unknown], now,
                                          self._first_searches(groups))
        else:
            search = self.searches.choose(unknown, now)
        known = {mac: ip for mac, ip in wanted.items() if ip}
        found = {}
        for iface, networks in groups.items():
            quiet = {self.gateways[n][1]: self.gateways[n][0] for n in networks if n in self.gateways}
            try:
                found.update(self.sweepers[iface].sweep(known, [mac for mac in search if mac not in found], quiet))
            except OSError as error:
                self.unswept.update(dict.fromkeys(networks, f"sweeping {iface} failed: {error.strerror or error}"))
                self.sweepers.pop(iface).close()
        return found

    def _first_searches(self, groups):
        """How many devices the first sweep may search: FIRST_SWEEP_SEARCH_FRAMES, at least SEARCHES_PER_SWEEP."""
        addresses = sum(len(self.sweepers[iface].frames) for iface in groups)
        return max(self.searches.per_sweep, defaults.FIRST_SWEEP_SEARCH_FRAMES // max(1, addresses))

    def _resolved(self, asked):
        """{mac: ip or None} to re-probe; an address outside every swept network counts as unknown."""
        networks = self.network_config.cidrs
        resolved = {mac: ip or self.known_ips.get(mac) for mac, ip in asked.items()}
        return {mac: ip if ip and in_networks(ip, networks) else None for mac, ip in resolved.items()}

    def _health(self, network, found, how, gateways):
        if network in self.unswept:
            return NetworkHealth(str(network), False, self.unswept[network])
        if how == "neighbour":
            # The neighbour table cannot tell an empty LAN from a quiet one: only the link counts.
            return NetworkHealth(str(network), True)
        gateway = next((ip for ip in gateways if in_networks(ip, (network,))), None)
        answered = [mac for mac, ip in found.items() if ip == gateway]
        if answered:
            self.gateways[network] = (gateway, answered[0])
        elif gateway is None or self.gateways.get(network, (None,))[0] != gateway:
            self.gateways.pop(network, None)
        return network_health(network, found.values(), gateway, network in self.gateways)

    def _neighbours(self, groups):
        found = {}
        for iface, networks in groups.items():
            found.update(read_neighbours(iface, networks))
        return found

    def close(self):
        """Close every interface's sweeper."""
        for sweeper in self.sweepers.values():
            sweeper.close()
        self.sweepers = {}
