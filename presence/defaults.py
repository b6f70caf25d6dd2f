"""Every default and constant of the daemon, in one place."""

DEFAULT_CONFIG_PATH = "presence/people_config.yaml"
CONFIG_ENV_VAR = "PRESENCE_CONFIG"
DEFAULT_STATE_FILE = "presence/state.json"

DEFAULT_SCAN_INTERVAL = 30.0
MIN_SCAN_INTERVAL = 0.5
DEFAULT_OFFLINE_GRACE = 300.0
# How long the broadcast sweep listens for replies after the last request went out.
DEFAULT_SWEEP_LISTEN = 0.3
# Unicast re-probes of a person's device that missed the sweep: tries, spacing, final listen.
REPROBE_TRIES = 3
REPROBE_SPACING = 0.1
REPROBE_LISTEN = 0.3
# The passive listener reports one device at most this often (a busy LAN repeats itself).
PASSIVE_MIN_INTERVAL = 1.0
# Larger networks take too long to sweep by ARP (and are rarely one home LAN).
MIN_PREFIX_LENGTH = 16
# Silence gaps shorter than this are not recorded; this many are kept per device.
MIN_GAP = 1.0
GAPS_KEPT = 500
# Unmapped devices unseen for this long are dropped from state.json.
FORGET_UNKNOWN_AFTER = 30 * 24 * 3600.0

DEFAULT_HA_TOKEN_ENV = "HOME_ASSISTANT_TOKEN"
HA_CREDENTIAL_NAME = "ha_token"
DEFAULT_HA_POLL_INTERVAL = 300.0
MIN_HA_POLL_INTERVAL = 1.0
DEFAULT_HA_TIMEOUT = 10.0
# After a failed poll: first retry in this many seconds, doubling up to the poll interval.
HA_FIRST_RETRY = 5.0
# After a refused token (401) or a ban (403): retry this rarely.
HA_AUTH_RETRY = 1800.0
# A Home Assistant answer is trusted for this many poll intervals without a successful poll.
DEFAULT_HA_STALE_POLLS = 3

DEFAULT_GRAPHITE_PORT = 2003
DEFAULT_PREFIX = "home.presence"
DEFAULT_SEND_INTERVAL = 5
GRAPHITE_CONNECT_TIMEOUT = 1.0
GRAPHITE_SEND_TIMEOUT = 1.0
GRAPHITE_MAX_BACKOFF = 60.0
# Ticks kept in memory when there is no spool: a day at the default interval.
GRAPHITE_MAX_PENDING = 24 * 3600 // 5
# The on-disk spool while Graphite is unreachable: 100 MB hold about 4.8 days of the reference
# household's 27 lines every 5 s (about 1.2 kB a tick, 21 MB a day).
DEFAULT_SPOOL_MAX_MB = 100
SPOOL_FOLDER = "graphite-spool"

# A person's key may not shadow an aggregate metric.
RESERVED_PERSON_KEYS = frozenset({"count_home", "anyone_home", "wifi", "events"})

# `report`: the finest step it analyses (Graphite is asked to consolidate finer points to it),
# the percentile of hourly means taken as the idle ("always on") load, the share of an hour's
# power data needed for that hour to count, and the render API's timeout.
REPORT_MIN_STEP = 60
IDLE_PERCENTILE = 5
IDLE_HOUR_COVERAGE = 0.9
DEFAULT_REPORT_TIMEOUT = 60.0
ENERGY_UNITS = {"Wh": 1.0, "kWh": 1000.0}
DEFAULT_ENERGY_UNIT = "kWh"

STATE_VERSION = 1
EX_USAGE = 64
EX_CONFIG = 78
SHUTDOWN_DEADLINE = 2.0
