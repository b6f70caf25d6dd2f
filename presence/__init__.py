"""presence: who of a household is home, every few seconds, sent to Graphite and Home Assistant.

Data flows one way: `sources` -> `observations` -> `state` -> `outputs`, driven by the `daemon` loop and
configured once by `config`. Each source offers `presence.sources.base.Source`, each output
`presence.outputs.base.Output`; `presence.daemon.wiring` is the one place that knows their kinds. What
the state closes goes to the history output, which `suggest` reads back (`history`). Beside the daemon:
`commands` (check, discover, stats, suggest) and `report` (occupancy against electricity). `cli` parses
the command line (`arguments`) and starts one of them; `clock` is the time every part is handed.
"""
