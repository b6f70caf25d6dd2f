"""The `report` command: occupancy against electricity, read back from Graphite.

One way through: `command` (the period, the household's clock, what to fetch) -> `fetch` (the render
API, the only network I/O) -> `series` (one grid; a meter's counter as power) -> `analysis` and `fit`
(pure arithmetic) -> `output` (table or JSON), and `plot` for `--png` (the only user of matplotlib).
"""
