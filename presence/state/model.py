"""The records of the state: what is known about each device and person, and what an evaluation returns."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeviceRecord:
    """What is known about one device: where and when it was seen, and how."""

    ip: str
    first_seen: float
    last_seen: float
    how: str = "arp"
    hostname: str = None
    # Whether it looks like someone's phone or tablet, as the source that saw it last judged.
    personal: bool = False
    # Since when it is present without a silence longer than its grace (None while absent): the
    # history's open interval, closed into the journal once the device is gone.
    present_since: float = None


@dataclass(frozen=True)
class PersonRecord:
    """What is known about one person: home or not since when, and by which source."""

    is_home: bool = False
    since: float = None
    last_seen: float = None
    last_source: str = None
    # Home Assistant's answer for this person (None: no fresh answer) and since when it says so.
    ha_home: bool = None
    ha_since: float = None


@dataclass(frozen=True)
class State:
    """Everything the daemon knows between ticks; saved to the state file, but for the runtime fields."""

    devices: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)
    entities: dict = field(default_factory=dict)
    ha_answered_at: float = None
    # Per mapped MAC, the latest silences (seconds between fresh sightings while its person was home).
    gaps: dict = field(default_factory=dict)
    # Per swept network (CIDR text), its latest outages as (start, end or None while it lasts):
    # the grace clock of a device on that network stands still while its LAN cannot be reached.
    outages: dict = field(default_factory=dict)
    # Runtime only (not saved): used to log each source's failure once per change.
    source_ok: dict = field(default_factory=dict)
    ha_fresh: bool = None
    # Runtime only: unknown devices heard passively but not yet seen by a sweep. A flood of frames
    # from made-up MACs lands here, bounded, and never counts as devices.
    heard: dict = field(default_factory=dict)
    unknown_bound_hit: bool = False
    # Runtime only: when the state file read at start was written, the last moment anything was known.
    saved_at: float = None
    # (start, last) of the stretch in which sweeps reached the LAN without a gap longer than the grace.
    watched: tuple = None
    # Runtime only: history records closed since the loop last wrote them (presence.history.journal).
    history_out: tuple = ()


@dataclass(frozen=True)
class Event:
    """A line for the log (level, message) that an evaluation returns instead of logging it."""

    level: str
    message: str


@dataclass(frozen=True)
class Transition:
    """A person arriving or leaving, with when and why."""

    key: str
    is_home: bool
    at: float
    reason: str

    @property
    def message(self):
        """The transition as logged: `key: away -> home (reason)`."""
        change = "away -> home" if self.is_home else "home -> away"
        return f"{self.key}: {change} ({self.reason})"


@dataclass(frozen=True)
class PersonStatus:
    """One person at one tick, as the metrics show them."""

    key: str
    is_home: bool
    from_wifi: bool
    from_homeassistant: bool
    devices_present: int
    seconds_since_seen: float = None


@dataclass(frozen=True)
class Snapshot:
    """Everyone at one tick: what each tick's metrics are made of."""

    at: float
    people: tuple
    devices_present_count: int
    guest_devices: int = None

    @property
    def count_home(self):
        """How many people are home."""
        return sum(1 for person in self.people if person.is_home)

    @property
    def anyone_home(self):
        """Whether anyone is home."""
        return self.count_home > 0
