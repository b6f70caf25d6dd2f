"""The commands beside the daemon: `check` (the config and every endpoint; `check_mqtt` tries the
broker), `discover` (devices and entities nobody claims yet), `stats` (each device's silences, to choose
a grace period) and `suggest` (whose each unmapped device is, from the history).
"""
