"""What the sources report: plain, immutable records with the time they were made."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceSighting:
    """A device was heard from its own MAC at `at` (epoch seconds); `ip` None when unknown. `personal`:
    it looks like someone's phone or tablet (a randomized MAC or a phone maker's), as the source judged."""

    mac: str
    ip: str
    at: float
    how: str = "arp"
    hostname: str = None
    personal: bool = False


@dataclass(frozen=True)
class EntityReading:
    """A Home Assistant entity's state; `home` is None when it gives no evidence. `echo`: it is (or follows)
    our own output, which the source says itself, once."""

    entity_id: str
    state: str
    home: bool
    at: float
    echo: bool = False


@dataclass(frozen=True)
class NetworkHealth:
    """Whether one swept network could be reached at all; a sweep of an unreachable LAN is no evidence."""

    cidr: str
    up: bool
    reason: str = None


@dataclass(frozen=True)
class SourceReport:
    """The outcome of one poll of one source."""

    source: str
    at: float
    ok: bool
    sightings: tuple = ()
    readings: tuple = ()
    error: str = None
    # Seconds until the source wants to be polled again, when not its usual interval.
    retry_after: float = None
    # WiFi sweeps: one NetworkHealth per swept network (empty for other sources and the listener).
    networks: tuple = ()
