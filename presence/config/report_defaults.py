"""The constants of `report`'s analysis and of its reads of Graphite's render API (presence.report).

Its settings' defaults (timeout, energy unit, window) are in presence.config.defaults with the others.
"""

# The finest step `report` analyses (Graphite is asked to consolidate finer points to it), the percentile
# of hourly means taken as the idle ("always on") load, and the share of an hour's power data needed for
# that hour to count.
REPORT_MIN_STEP = 60
IDLE_PERCENTILE = 5
IDLE_HOUR_COVERAGE = 0.9
# The render API: the largest answer read (a year of minutes is about 12 MB in JSON, 4 MB raw), the
# coarsest step accepted, the largest magnitude of a value (no meter reads 1e15, W or kWh, and larger
# values would overflow the report's sums of squares), the requests in flight at once, and the span
# first asked for in `format=raw` to learn a series' own step.
MAX_RENDER_BYTES = 64_000_000
MAX_RENDER_STEP = 366 * 86400
MAX_RENDER_VALUE = 1e15
MAX_RENDER_REQUESTS = 32
RAW_PROBE_SPAN = 600
# Characters of a value that is not a number quoted in the render API's error.
QUOTED_VALUE_LENGTH = 40
# An energy counter falling below this share of its previous reading restarted from zero (a smaller
# drop is a glitch, a gap).
COUNTER_RESET_SHARE = 0.5
# The fit: a column with less than this share of its own sum of squares left after the columns before
# it adds nothing new and is left out (people home together are not told apart: defaults.TOGETHER_SHARE);
# the 95 % intervals are this many standard errors either side.
FIT_TOLERANCE = 1e-9
Z95 = 1.96

# The reads of the render API (presence.report.fetch, issue 23). An answer may hold at most this many
# bytes a point it can legitimately hold (a JSON [value, time] pair is at most about 40, a raw value 25) plus
# a fixed allowance for the series' name and tags, and never more than MAX_RENDER_BYTES; a JSON answer at
# most two commas a point plus those of its names. All the series of one report read at most
# MAX_REPORT_RENDER_BYTES together (what one answer could before): a year of minutes is about 3 MB raw and
# 11 MB in JSON a series, so this is a year for 20 series in raw (graphite-web) or 5 in JSON. Parsed, an
# answer takes about 8 times its size (measured: a year in JSON, 11 MB, is 80 MB of objects), so a report
# stays under about 0.5 GB whatever Graphite sends. report.timeout bounds each series' requests together.
RENDER_BYTES_PER_POINT = 64
RENDER_ANSWER_OVERHEAD = 64 * 1024
RENDER_ANSWER_COMMAS = 1024
MAX_REPORT_RENDER_BYTES = 64_000_000

# `report --homes` (presence.report.homes, issue 25). Homes are read in batches of at most FLEET_BATCH_HOMES
# homes and FLEET_BATCH_POINTS points (all their series together: about 5 bytes a point in graphite-web's raw
# format, so about 30 MB a batch; its lines stay text until their home is analysed). A batch's requests read
# at most FLEET_BATCH_BYTES together, and the next batch is read while one is analysed, so a report holds at
# most two batches' answers whatever Graphite sends. The one look-up of the study's series reads at most
# FLEET_EXPAND_BYTES (about 300,000 series' names).
FLEET_BATCH_HOMES = 200
FLEET_BATCH_POINTS = 6_000_000
FLEET_BATCH_BYTES = 96_000_000
FLEET_EXPAND_BYTES = 16_000_000
# A home counts in the study's summary with at least this many hours empty while its power was measured (the
# nobody-home mean power of a few minutes says little), and with an always-on load.
FLEET_MIN_EMPTY_H = 1.0
# The median's distribution-free interval over homes: its confidence (from the binomial distribution of the
# homes below the median, so at least 6 homes for 95 %).
FLEET_MEDIAN_CONFIDENCE = 0.95
# How often (s) the thread analysing a batch hands the interpreter to the one reading the next (Python's
# default is 5 ms).
FLEET_SWITCH_INTERVAL = 0.0005

# Intervals (presence.report.bootstrap, issue 26): whole days resampled this many times, with a fixed seed (the
# same data gives the same report), this many replicates at a time (a year's hours times this many int32 is
# the peak); an interval needs this many effective days, else the figure is said to be uncertain instead.
BOOTSTRAP_REPLICATES = 1000
BOOTSTRAP_SEED = 26
BOOTSTRAP_CHUNK = 100
MIN_INTERVAL_DAYS = 7
# A day whose nobody-home energy above always-on + WASTE_ABOVE_W reaches this is a day of a large load (a
# washing machine's or dryer's cycle, an oven's hour: 1 to 2 kWh): those days are counted, not resampled
# (presence.report.bootstrap.mean_with_rare_loads).
LARGE_LOAD_WH = 1000
# A week's figures: an interval from this many days of it (widened for so few: see bootstrap.widening).
MIN_WEEK_DAYS = 5
# A year, for the cost of a load a year long.
HOURS_PER_YEAR = 8760
# Waste (presence.report.waste): nobody home and more than WASTE_ABOVE_W over the always-on load (a fridge's
# compressor or a router is less, an oven, heater, dryer or iron more), stretches joined across gaps of up
# to WASTE_GAP_S (a thermostat's off-cycle) and counted from WASTE_MIN_S; the WASTE_TOP largest are listed.
WASTE_ABOVE_W = 200
WASTE_GAP_S = 600
WASTE_MIN_S = 900
WASTE_TOP = 10
# The trend (presence.report.trend): a change at a week's start compares up to CHANGE_WINDOW_DAYS either side,
# needs CHANGE_SIDE_DAYS with data on each, CHANGE_REPLICATES resamples for its standard error, and must be at
# least CHANGE_MIN_W and CHANGE_MIN_SHARE of the level before (a real but trivial change is not news).
CHANGE_WINDOW_DAYS = 28
CHANGE_SIDE_DAYS = 10
CHANGE_REPLICATES = 200
CHANGE_MIN_W = 10
CHANGE_MIN_SHARE = 0.1
# glibc's mallopt() parameter and the size from which report's buffers are mapped, and unmapped when freed
# (presence.report.command.return_large_buffers).
M_MMAP_THRESHOLD = -3
LARGE_BUFFER_BYTES = 1 << 20
