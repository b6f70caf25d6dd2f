"""The Graphite output: each tick's lines (built by graphite_helper) delivered to carbon with nothing lost:
from a thread of its own (`sender`), each connection confirmed by carbon before anything is let go
(`connection`), what is not confirmed yet kept in order (`backlog`) in memory or on disk (`spool`)."""
