"""The configuration as typed objects; `ConfigError` lists every problem with its key path."""

import reprlib
from dataclasses import dataclass, field

from presence.config import defaults


class _Repr(reprlib.Repr):
    def __init__(self, limits):
        super().__init__()
        for name, value in limits.items():
            setattr(self, name, value)

    def repr_int(self, value, level):
        # Repr of a larger integer raises ValueError (Python's int-to-string limit); YAML can build one.
        if value.bit_length() > defaults.SHOWN_INTEGER_BITS:
            return f"<an integer of {value.bit_length()} bits>"
        return super().repr_int(value, level)


_REPR = _Repr(defaults.SHOWN_REPR_LIMITS)


def shown(value):
    """`repr(value)` in a few dozen characters at most: a file's values can be huge or endlessly nested."""
    return _bounded(_REPR.repr(value))


def shown_text(text):
    """A message (an exception's) on one line, control characters escaped, as short as `shown`."""
    text = " ".join(str(text).split())
    return _bounded("".join(char if char.isprintable() else repr(char)[1:-1] for char in text))


def _bounded(text):
    if len(text) > defaults.SHOWN_LENGTH:
        return text[:defaults.SHOWN_LENGTH - 3] + "..."
    return text


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists each one with its key path."""

    def __init__(self, source, problems):
        self.source = source
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self):
        lines = [f"{self.source}: invalid configuration ({len(self.problems)} problem"
                 f"{'' if len(self.problems) == 1 else 's'}):"]
        lines += [f"  {self.source}: {problem}" for problem in self.problems[:defaults.MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > defaults.MAX_PROBLEMS_SHOWN:
            lines.append(f"  {self.source}: ... and {len(self.problems) - defaults.MAX_PROBLEMS_SHOWN} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Person:
    """One person of `people:`: their metric key, their devices' MACs and Home Assistant entities."""

    name: str
    key: str
    macs: tuple = ()
    homeassistant_entities: tuple = ()
    offline_grace: float = defaults.DEFAULT_OFFLINE_GRACE


@dataclass(frozen=True)
class NetworkConfig:
    """`cidr_interfaces[i]` is the interface `network.cidrs[i]` names, or None (then `interface`, or the route)."""

    cidrs: tuple
    interface: str = None
    cidr_interfaces: tuple = None

    def __post_init__(self):
        if self.cidr_interfaces is None:
            object.__setattr__(self, "cidr_interfaces", (None,) * len(self.cidrs))
        elif len(self.cidr_interfaces) != len(self.cidrs):
            raise ValueError("cidr_interfaces must have one entry per network in cidrs")


@dataclass(frozen=True)
class WifiConfig:
    """The `wifi:` section: how often to sweep, how long a device may stay silent, when it counts as vanished."""

    scan_interval: float = defaults.DEFAULT_SCAN_INTERVAL
    offline_grace: float = defaults.DEFAULT_OFFLINE_GRACE
    wake_knock: bool = True
    # A person's device unseen this long while another source says they were home: said once.
    vanished_after: float = defaults.DEFAULT_VANISHED_AFTER


@dataclass(frozen=True)
class MetricsConfig:
    """Opt-in metrics beyond the fixed set."""

    guest_devices: bool = False
    seconds_since_seen: bool = False


@dataclass(frozen=True)
class HomeAssistantConfig:
    """The `homeassistant:` section: where to read the mapped entities, how often, for how long."""

    url: str
    token_env: str = defaults.DEFAULT_HA_TOKEN_ENV
    poll_interval: float = defaults.DEFAULT_HA_POLL_INTERVAL
    timeout: float = defaults.DEFAULT_HA_TIMEOUT
    stale_after: float = None
    ca_bundle: str = None

    @property
    def max_age(self):
        """Seconds a successful answer is trusted without a newer one."""
        if self.stale_after is not None:
            return self.stale_after
        return self.poll_interval * defaults.DEFAULT_HA_STALE_POLLS


@dataclass(frozen=True)
class MqttConfig:
    """Where to publish presence for Home Assistant; the password is read at start, never kept here."""

    host: str
    port: int = defaults.DEFAULT_MQTT_PORT
    tls: bool = False
    ca_file: str = None
    verify_tls: bool = True
    username: str = None
    password_env: str = defaults.DEFAULT_MQTT_PASSWORD_ENV
    # None: `presence-` and the host name.
    client_id: str = None
    discovery_prefix: str = defaults.DEFAULT_DISCOVERY_PREFIX
    base_topic: str = defaults.DEFAULT_MQTT_BASE_TOPIC


@dataclass(frozen=True)
class GraphiteTls:
    """`graphite.tls`: mutual TLS to a study's relay; `key` None when the systemd credential holds it."""

    ca: str
    cert: str
    key: str = None
    server_name: str = None


@dataclass(frozen=True)
class GraphiteConfig:
    """The `graphite:` section: where the metrics go (no host: stdout), and how often; `tls` None: plaintext."""

    host: str = None
    port: int = defaults.DEFAULT_GRAPHITE_PORT
    prefix: str = defaults.DEFAULT_PREFIX
    send_interval: int = defaults.DEFAULT_SEND_INTERVAL
    spool_max_mb: float = defaults.DEFAULT_SPOOL_MAX_MB
    render_url: str = None
    tls: GraphiteTls = None


@dataclass(frozen=True)
class TariffPeriod:
    """One period of `report.tariff`: `price` per kWh from minute `start` to minute `end` (0..1440) of the local
    day on `days` (0 = Monday); an `end` not after `start` runs past midnight into the next day."""

    start: int
    end: int
    price: float
    days: frozenset = frozenset(range(7))

    def spans(self):
        """The (start, end) minutes of the local week it covers (0 = Monday 00:00), in order, none past midnight."""
        spans = []
        for day in self.days:
            base, next_day = day * defaults.MINUTES_PER_DAY, (day + 1) % 7 * defaults.MINUTES_PER_DAY
            if self.start < self.end:
                spans.append((base + self.start, base + self.end))
                continue
            spans.append((base + self.start, base + defaults.MINUTES_PER_DAY))
            if self.end:
                spans.append((next_day, next_day + self.end))
        return sorted(spans)


@dataclass(frozen=True)
class ReportConfig:
    """Where `report` reads the household's electricity; `power` and `energy_counter` exclude each other.

    `price` is a kWh's flat price, and the price of the hours `tariff` (TariffPeriods) leaves out.
    """

    render_url: str = None
    power: str = None
    energy_counter: str = None
    energy_unit: str = defaults.DEFAULT_ENERGY_UNIT
    timezone: str = None
    timeout: float = defaults.DEFAULT_REPORT_TIMEOUT
    price: float = None
    currency: str = None
    tariff: tuple = ()


@dataclass(frozen=True)
class Config:
    """The whole config file, checked: every section as its typed object."""

    path: str
    network: NetworkConfig
    wifi: WifiConfig
    homeassistant: HomeAssistantConfig
    graphite: GraphiteConfig
    state_file: str
    people: tuple
    ignore_macs: frozenset = frozenset()
    metrics: MetricsConfig = MetricsConfig()
    report: ReportConfig = ReportConfig()
    mqtt: MqttConfig = None
    # Seconds between saves of the state file when nothing that matters at a restart changed (0: every change).
    state_save_interval: float = defaults.DEFAULT_STATE_SAVE_INTERVAL
    mac_owner: dict = field(default_factory=dict, compare=False)

    def grace_for(self, mac):
        """Offline grace of the device: its owner's, or the global one for unmapped devices."""
        owner = self.mac_owner.get(mac)
        return owner.offline_grace if owner else self.wifi.offline_grace
