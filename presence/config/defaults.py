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
# Unknown devices kept at most (a home has a few hundred at most; more means a flood): the longest
# unseen go first. Unknown devices only heard, not yet seen by a sweep, are kept apart and fewer.
MAX_UNKNOWN_DEVICES = 1000
MAX_HEARD_DEVICES = 256
# Outages of the LAN remembered per network (the grace clock stands still during each).
OUTAGES_KEPT = 4

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

# Upper bounds of the config's numbers: a typo such as 1e300 or .inf is an error, not a daemon
# that never sweeps again. Each is far beyond any sensible setting.
MAX_SCAN_INTERVAL = 3600.0
MAX_OFFLINE_GRACE = 7 * 24 * 3600.0
MAX_HA_POLL_INTERVAL = 24 * 3600.0
MIN_HA_TIMEOUT = 0.1
MAX_HA_TIMEOUT = 300.0
MAX_HA_STALE_AFTER = 7 * 24 * 3600.0
MAX_SEND_INTERVAL = 3600
MAX_SPOOL_MAX_MB = 100_000
MIN_REPORT_TIMEOUT = 1.0
MAX_REPORT_TIMEOUT = 3600.0
# The config file: its size (a household's is a few kB), the keys YAML merges (`<<: *x`) may copy
# in all (nested merges double at each level), the problems printed, and the length of a value shown.
MAX_CONFIG_BYTES = 1_000_000
MAX_YAML_MERGED_KEYS = 10_000
MAX_PROBLEMS_SHOWN = 50
SHOWN_LENGTH = 80

STATE_VERSION = 1
# The state file: read at most this much (a household's is a few hundred kB at most); times outside
# 1970..2100 are not ones this daemon wrote; strings are bounded (a hostname has at most 253 characters,
# a Home Assistant state 255).
MAX_STATE_BYTES = 50_000_000
MAX_STATE_TIME = 4_102_444_800.0
MAX_STATE_TEXT = 255
MAX_STATE_SOURCE_TEXT = 1000
EX_USAGE = 64
# Another daemon holds the state file: try again once it stopped.
EX_TEMPFAIL = 75
EX_CONFIG = 78
SHUTDOWN_DEADLINE = 2.0
# Reports folded in before one decision, when many wait (a busy LAN): the loop stays on time.
MAX_REPORTS_PER_DECISION = 1000
