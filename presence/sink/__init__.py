"""Where the metrics go: Graphite's plaintext protocol over TCP, confirmed before anything is let go
(`graphite`), with what carbon has not yet confirmed kept on disk (`spool`); or stdout for a dry run.
"""
