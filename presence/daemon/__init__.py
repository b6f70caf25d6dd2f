"""The daemon: the loop that reads the clock, runs the sources in threads, ticks, sends and saves
(`loop`, `runners`, `clock`), and tells systemd how it goes (`notify`).
"""
