"""The commands beside the daemon: `check` (the config and every endpoint), `discover` (devices and
entities nobody claims yet), `stats` (each device's silences, to choose a grace period) and `suggest`
(whose each unmapped device is, from the history).
"""
