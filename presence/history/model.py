"""The history's records: closed intervals of presence, for devices, people's other sources, and the daemon."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Interval:
    """Present from `start` to `end` (epoch seconds, start <= end)."""

    start: float
    end: float


@dataclass(frozen=True)
class DeviceHistory:
    """One device's presence on the LAN, merged across silences shorter than its grace, oldest first.

    `hostnames`: every DHCP/mDNS name it was heard with. `personal`: it looks like a phone or tablet."""

    mac: str
    intervals: tuple = ()
    hostnames: frozenset = frozenset()
    personal: bool = False


@dataclass(frozen=True)
class PersonHistory:
    """A person's presence as Home Assistant said it (intervals of `home`), oldest first; `ha_known`: the
    intervals in which Home Assistant's answer was known at all (polled, or read from its recorder)."""

    key: str
    ha_home: tuple = ()
    ha_known: tuple = ()


@dataclass(frozen=True)
class History:
    """Everything `suggest` needs: devices by MAC, people by key, and when the daemon was watching the LAN
    (a device's absence means something only then)."""

    devices: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)
    watched: tuple = ()
