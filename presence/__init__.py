"""presence: who of a household is home, every few seconds, sent to Graphite.

Data flows one way: `sources` -> `observations` -> `state` -> `metrics` -> `sink`, driven by the
`daemon` loop and configured once by `config`. `roles` names the interface of each part. Beside the
daemon: `commands` (check, discover, stats) and `report` (occupancy against electricity). `cli`
parses the command line and starts one of them.
"""
