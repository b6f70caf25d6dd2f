"""presence: who of a household is home, every few seconds, sent to Graphite.

Data flows one way: `sources` -> `observations` -> `state` -> `metrics` -> `sink`, driven by the
`daemon` loop and configured once by `config`; what the state closes goes on to `history`, which
`suggest` reads back. `roles` names the interface of each part. Beside the daemon: `commands` (check,
discover, stats, suggest) and `report` (occupancy against electricity). `cli` parses the command line
and starts one of them.
"""
