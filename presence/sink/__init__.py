"""Where the metrics go: Graphite's plaintext protocol over TCP from a thread of its own (`graphite`),
each connection confirmed by carbon before anything is let go (`connection`), what it has not confirmed
yet kept in order (`backlog`) in memory or on disk (`spool`); or stdout for a dry run (`stdout`).
Beside them, who is home handed to Home Assistant over MQTT: what to say (`mqtt_messages`, pure) and the
broker connection that keeps it current (`mqtt`).
"""
