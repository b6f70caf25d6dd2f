"""`report --homes PATTERN`: the report of every home of a study, and the study's summary.

One way through: `pattern` (the glob, each home's name, `{home}` in a metric, the homes in batches and the
wildcard targets of each batch; pure) -> `fetch` (one look-up of the study's series, then a few render
requests a batch: the only network I/O) -> `command` (each home through `report`'s own build_report) ->
`summary` (the distribution over homes; pure) -> `output` (table, JSON or CSV).
"""
