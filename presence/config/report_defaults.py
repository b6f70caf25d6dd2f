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
