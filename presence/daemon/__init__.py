"""The daemon, one job per module: `loop` (fold reports into the state, decide, hand each decision to the
outputs, reload), `store` (when state.json is written), `supervisor` and `runners` (the source threads,
and systemd's watchdog pinged only while every part lives), `outputs` (the outputs called alike, each
one's failure kept from the others), `notify` (systemd's socket), `wiring` (the registry: which sources
and outputs a config makes) and `start` (`run` and `once`).
"""
