"""Every default and constant of the daemon, in one place."""

DEFAULT_CONFIG_PATH = "presence/people_config.yaml"
CONFIG_ENV_VAR = "PRESENCE_CONFIG"
DEFAULT_STATE_FILE = "presence/state.json"
# The state file is written at once when a person or a device's identity changes; otherwise at most this often
# (an SD card's wear): a crash loses at most this much of the devices' "last seen" refreshes.
DEFAULT_STATE_SAVE_INTERVAL = 300.0
MAX_STATE_SAVE_INTERVAL = 3600.0
# A crash and restart under systemd (RestartSec=5, a start and the first sweep) take well under this: the file
# on disk always keeps each person who is home within their grace at least this far ahead, so such a
# restart invents no departure that a save at every tick would not have.
STATE_RESTART_MARGIN = 60.0
DEFAULT_LOG_LEVEL = "INFO"

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
# A mapped device unseen this long while its person was home by another source is reported as vanished
# (a phone's new private address, a new phone): 2 days by default, up to 90 days (tests compress time).
DEFAULT_VANISHED_AFTER = 2 * 86400.0
MIN_VANISHED_AFTER = 1.0
MAX_VANISHED_AFTER = 90 * 86400.0
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
# A retry after a failed poll comes this share earlier or later at random: never in step with others.
HA_RETRY_JITTER = 0.25
# Bounds on what Home Assistant may send: one entity's answer, all of `/api/states` (a large home is
# a few MB), a state as kept (Home Assistant's own limit), and a secret (token, password) read from a credential file.
MAX_HA_ENTITY_BYTES = 1_000_000
MAX_HA_STATES_BYTES = 64_000_000
MAX_HA_STATE_LENGTH = 255
MAX_SECRET_LENGTH = 4096
# MQTT (`mqtt:`): Home Assistant's discovery prefix, our own topics' root, where the password comes from.
DEFAULT_MQTT_PORT = 1883
DEFAULT_MQTT_TLS_PORT = 8883
DEFAULT_MQTT_PASSWORD_ENV = "MQTT_PASSWORD"
MQTT_CREDENTIAL_NAME = "mqtt_password"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
DEFAULT_MQTT_BASE_TOPIC = "presence"
DEFAULT_MQTT_CLIENT_ID_PREFIX = "presence-"
# The broker hears of a dead connection after 1.5 keepalives and then publishes our last will.
MQTT_KEEPALIVE = 30
# After a lost connection: retry after 1 s, doubling up to this.
MQTT_MAX_RECONNECT_DELAY = 30
# How long to wait for the broker: a TCP and TLS connect, and in `check` its answers (CONNACK, PUBACK).
MQTT_TIMEOUT = 5.0
# HTTP (Home Assistant, the render API): answers are read in chunks of this size; this many characters
# of a peer's own text (an error page, a redirect's address, an error's) are quoted in a message.
HTTP_READ_CHUNK = 64 * 1024
QUOTED_ANSWER_LENGTH = 200

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

# `report`: the render API's timeout, the energy units, the default window; and two people home together
# this share of the time either is are not told apart. Its analysis and reads: presence.config.report_defaults.
DEFAULT_REPORT_TIMEOUT = 60.0
ENERGY_UNITS = {"Wh": 1.0, "kWh": 1000.0}
DEFAULT_ENERGY_UNIT = "kWh"
DEFAULT_REPORT_FROM = "-7d"
DEFAULT_REPORT_UNTIL = "now"
TOGETHER_SHARE = 0.9
# `report`'s money (issue 26): the most a kWh may cost in the configured currency (more is a typo: no
# currency's kWh costs a million of it), the longest currency text (EUR, €, kr, US$), the days of the week
# in the config's and the JSON's spelling (0 = Monday), and the most periods a tariff may list (one an
# hour of the week); a day and the week in minutes.
MAX_PRICE = 1_000_000.0
MAX_CURRENCY_LENGTH = 8
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TARIFF_PERIODS = 168
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

# `discover --watch`: seconds between sweeps, and the sweeps without a reply (re-probes included)
# after which a listed device counts as gone.
WATCH_INTERVAL = 2.0
WATCH_MISSES = 3
# `check`: seconds to connect to carbon, seconds the render API has to answer the retention probe,
# and the span of the newest data it asks for.
CHECK_CONNECT_TIMEOUT = 3.0
RETENTION_TIMEOUT = 5.0
RETENTION_SPAN = 600

# Upper bounds of the config's numbers: a typo such as 1e300 or .inf is an error, not a daemon
# that never sweeps again. Each is far beyond any sensible setting.
MAX_SCAN_INTERVAL = 3600.0
MAX_OFFLINE_GRACE = 7 * 24 * 3600.0
MAX_HA_POLL_INTERVAL = 24 * 3600.0
MIN_HA_TIMEOUT = 0.1
MAX_HA_TIMEOUT = 300.0
MAX_HA_STALE_AFTER = 7 * 24 * 3600.0
MIN_SEND_INTERVAL = 1
MAX_SEND_INTERVAL = 3600
MIN_SPOOL_MAX_MB = 1
MAX_SPOOL_MAX_MB = 100_000
MIN_REPORT_TIMEOUT = 1.0
MAX_REPORT_TIMEOUT = 3600.0
# A path in the config (Linux's PATH_MAX).
MAX_PATH_LENGTH = 4096
# The config file: its size (a household's is a few kB), the keys YAML merges (`<<: *x`) may copy
# in all (nested merges double at each level), the problems printed, the length of a value shown and
# of a key named in a key path (a longer one is shown as its bounded repr).
MAX_CONFIG_BYTES = 1_000_000
MAX_YAML_MERGED_KEYS = 10_000
MAX_PROBLEMS_SHOWN = 50
SHOWN_LENGTH = 80
MAX_KEY_SHOWN = 40
# How a value is shown (reprlib's limits): nesting levels, items of a list, tuple, dict or set, and
# characters of a string, an integer or anything else; an integer wider than this many bits is only
# described (Python refuses to print one of more than 4300 digits).
SHOWN_REPR_LIMITS = {"maxlevel": 2, "maxlist": 4, "maxtuple": 4, "maxdict": 4, "maxset": 4,
                     "maxstring": 60, "maxlong": 30, "maxother": 60}
SHOWN_INTEGER_BITS = 256

STATE_VERSION = 1
# The state file: read at most this much (a household's is a few hundred kB at most); times outside
# 1970..2100 are not ones this daemon wrote; strings are bounded (a hostname has at most 253 characters,
# a Home Assistant state 255).
MAX_STATE_BYTES = 50_000_000
MAX_STATE_TIME = 4_102_444_800.0
MAX_STATE_TEXT = 255
MAX_STATE_SOURCE_TEXT = 1000
SHUTDOWN_DEADLINE = 2.0
# `once`: its outputs deliver what it found within this (time for an MQTT broker to answer, then to close).
ONCE_DEADLINE = MQTT_TIMEOUT + SHUTDOWN_DEADLINE
# Reports folded in before one decision, when many wait (a busy LAN): the loop stays on time.
MAX_REPORTS_PER_DECISION = 1000
# The loop: how long a start waits for the first sweep before its first tick (so that a restart judges
# people on a fresh scan, not on last-seen times from before it), how often it looks at the stop flag
# while it waits for reports, how often `systemctl status` gets a fresh line, and how soon a passive
# listener that ended (its socket failed, its interface went away) starts again.
FIRST_SCAN_WAIT = 3.0
STOP_CHECK = 0.2
STATUS_EVERY = 1.0
LISTENER_RESTART = 5.0

# The Graphite sender (presence.outputs.graphite): when to confirm delivery, how long to wait for it, and shutdown.
# Confirm once the oldest unconfirmed data is this old (s), or this much was sent on the connection.
GRAPHITE_CONFIRM_PERIOD = 60.0
GRAPHITE_CONFIRM_BYTES = 1_000_000
# No end of stream from the server this long after ours (s): it is taken to have lost the data.
GRAPHITE_CONFIRM_TIMEOUT = 10.0
# How often the thread looks for the server's end of stream while it waits for one, or is closing (s).
GRAPHITE_CONFIRM_POLL = 0.02
# How often the thread wakes when nothing comes, to retry a connection or the spool (s).
GRAPHITE_RETRY_EVERY = 0.5
# `close()` without a timeout (`once`): time for the confirmation beyond a connect and a send (s).
GRAPHITE_CLOSE_CONFIRM_WAIT = 2.0
# Of `close(timeout)`, the part kept for spooling what is unconfirmed: this share, at most
# GRAPHITE_CLOSE_SPOOL_TIME s.
GRAPHITE_CLOSE_SPOOL_SHARE = 0.25
GRAPHITE_CLOSE_SPOOL_TIME = 0.5
# After a spool error, ticks stay in memory this long before the disk is tried again (s).
GRAPHITE_SPOOL_RETRY = 5.0

# The passive listener (presence.sources.listener): its bounds against a busy or hostile LAN.
# Devices whose last report is remembered (for the per-device rate limit); the least recent go first.
PASSIVE_MAX_TRACKED = 4096
# Devices that are not people's are reported together, at most once per PASSIVE_BATCH_INTERVAL seconds,
# at most PASSIVE_BATCH_MAX distinct devices a batch: a flood of made-up MACs costs one small report.
PASSIVE_BATCH_INTERVAL = 0.5
PASSIVE_BATCH_MAX = 64
# How often the listener looks again at which interfaces reach the LANs, or retries one that failed (s).
PASSIVE_RECHECK = 30.0
# Frames read from one socket at a time, and the pause after a read: at most 6,400 frames a second.
PASSIVE_READ_BURST = 64
PASSIVE_BURST_PAUSE = 0.01

# The WiFi source's search for a device to re-probe whose address is unknown (presence.sources.wifi).
# One unicast request per address of every swept network: at once, then after 2, 4, 8... sweeps, and at
# least once every SEARCH_MAX_GAP seconds; at most SEARCHES_PER_SWEEP devices in one sweep (the others
# wait for a later one).
SEARCH_FIRST_GAP = 2
SEARCH_MAX_GAP = 3600.0
SEARCHES_PER_SWEEP = 1

# `suggest` (presence.history.suggest): whose an unmapped device is. A person is named at this confidence or
# more, and only after this many of their arrivals and departures (never hours: compressed time works the same)
# while the device was around. An arrival or departure coincides within this many offline graces. A device on
# the LAN this share of every person's time out is there whatever anyone does (a TV, a printer). Two people home
# together this share of the time either was (as in `report`), or who both reach the threshold, are told apart
# only when the device followed one in at least the minimum of their comings and goings apart, and in the
# threshold's share of them. A hostname a person's mapped device used takes the confidence this share of the
# way to 1.
SUGGEST_THRESHOLD = 0.8
SUGGEST_MIN_EVENTS = 5
SUGGEST_COINCIDENCE_GRACES = 2.0
SUGGEST_ALWAYS_THERE_SHARE = 0.8
SUGGEST_TOGETHER_SHARE = TOGETHER_SHARE
SUGGEST_HOSTNAME_WEIGHT = 0.5

# The history's journal (presence.history.journal): its folder beside the state file, the days kept, and
# bounds against a corrupt or hostile file: a line (a record is about 70 bytes) and a day's file by share (200
# devices with 10 stretches a day write about 150 kB): the devices nobody is mapped to may fill
# MAX_HISTORY_DAY_BYTES, people's records (Home Assistant's, the watched LAN's, mapped devices') have
# HISTORY_DAY_PEOPLE_BYTES of their own, so a MAC-rotating flood never pushes them out.
HISTORY_FOLDER = "device-history"
HISTORY_KEEP_DAYS = 28
MAX_HISTORY_LINE = 4096
MAX_HISTORY_DAY_BYTES = 4_000_000
HISTORY_DAY_PEOPLE_BYTES = 1_000_000
# Closed records are appended in batches, at most this many seconds apart (and at SIGTERM and SIGHUP): the
# SD card sees one small write a minute, and a crash (kill -9, power) loses at most this much of the history.
HISTORY_FLUSH_INTERVAL = 60.0
# A day file dated later than tomorrow (written while the clock was wrong) is set aside as `<day>.jsonl.future`.
HISTORY_FUTURE_SUFFIX = ".future"
# Home Assistant's history API: the largest answer read (with minimal_response, a state change is about
# 70 bytes: a person changing state every 5 min for 28 days, times 8 entities, is about 4.5 MB).
MAX_HA_HISTORY_BYTES = 16_000_000
# `suggest`: how long Home Assistant may take to answer for the history of every person's entities.
HA_HISTORY_TIMEOUT = 60.0
# History records kept in memory while the journal cannot be written (a day of a busy household's, about
# 2 MB at most; the oldest go first).
HISTORY_MAX_PENDING = 20_000

# The Graphite sender's name lookup (presence.outputs.graphite.connection): its deadline (getaddrinfo has none; a late
# answer is still used by the next attempt, and the last good one meanwhile), and how often a lookup or
# connect in progress looks whether a close wants it to end sooner.
GRAPHITE_LOOKUP_TIMEOUT = 1.0
# After a TLS handshake, how long to wait for the relay to take or refuse this home's certificate: in TLS 1.3 it
# says so after the handshake has ended on our side (its session tickets mean yes, an alert no).
GRAPHITE_TLS_SETTLE = 0.5
# Seconds for the TLS handshake (and the settling) after the TCP connect: a relay's stunnel takes hundreds of
# homes' handshakes at once after an outage of its own, and a home's uplink may be slow.
GRAPHITE_TLS_HANDSHAKE_TIMEOUT = 5.0
# The systemd credential that holds this home's TLS key ($CREDENTIALS_DIRECTORY/graphite_tls_key): under
# DynamicUser the service cannot read a root-owned key file; an empty credential means graphite.tls.key.
GRAPHITE_TLS_CREDENTIAL_NAME = "graphite_tls_key"
# `check` warns when this home's certificate expires within this many days.
CERT_WARN_DAYS = 14
GRAPHITE_WAIT_SLICE = 0.05

# The WiFi source's first sweep (presence.sources.wifi, issue 23): every device it is asked about gets its
# first whole-range search at once, not one device a sweep, within this many search frames (16 devices on
# a /24, 4 on a /22, at least SEARCHES_PER_SWEEP on any network); later sweeps keep SEARCHES_PER_SWEEP.
FIRST_SWEEP_SEARCH_FRAMES = 4096

# The loop guard (presence.sources.homeassistant, issue 23): whether a person's tracker is our own published
# one is asked of Home Assistant again this often (and at a reload, and when Home Assistant says `online`).
# A verdict is only kept from a tracker that shows its attributes: absent, unknown or unavailable, it is
# asked again at the next poll.
HA_OWN_RECHECK_INTERVAL = 300.0

# MQTT input (presence.outputs.mqtt.publisher, issue 23): a message on a topic we follow (Home Assistant's birth, which is
# "online"; our own discovery configs, under 1 kB even for a 64-character name) larger than this is dropped
# and said once. With MQTT 5 the broker sends no packet larger than MQTT_MAX_PACKET at all (the Maximum
# Packet Size of our CONNECT); a 3.1.1 broker cannot be told, and its max_packet_size is then the bound.
MAX_MQTT_PAYLOAD = 4096
MQTT_MAX_PACKET = 65536
