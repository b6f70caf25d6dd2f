"""The Graphite lines on stdout instead of sent (`--dry-run`, or no graphite.host)."""

import sys


class StdoutSink:
    """Print the lines instead of sending them (`--dry-run`, or no graphite.host)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message):
        """Print one tick's lines."""
        self.stream.write(message.decode("ascii"))
        self.stream.flush()

    def close(self, timeout=None):
        """Flush what is printed."""
        self.stream.flush()

    def alive(self):
        """Always: printing needs no thread."""
        return True

    def problem(self):
        """Never one."""
        return None
