"""The commands beside the daemon: `check` (the config and every endpoint), `discover` (devices and
entities nobody claims yet) and `stats` (each device's silences, to choose a grace period).
"""
