"""systemd's notify protocol, spoken directly: READY, STATUS, WATCHDOG and STOPPING datagrams."""

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """Talk to systemd over $NOTIFY_SOCKET; a no-op outside systemd (no socket in the environment)."""

    def __init__(self, environ=os.environ):
        path = environ.get("NOTIFY_SOCKET", "")
        self.address = "\0" + path[1:] if path.startswith("@") else path
        self.watchdog_interval = None
        usec = environ.get("WATCHDOG_USEC", "")
        watched_pid = environ.get("WATCHDOG_PID", "")
        if usec.isdigit() and (not watched_pid or watched_pid == str(os.getpid())):
            # Ping at twice the rate systemd expects, as sd_watchdog_enabled(3) advises.
            self.watchdog_interval = int(usec) / 2_000_000
        self._sock = None

    @property
    def enabled(self):
        """Whether systemd listens (NOTIFY_SOCKET is set)."""
        return bool(self.address)

    def notify(self, *fields):
        """Send `KEY=value` fields in one datagram; failures are logged at DEBUG and otherwise ignored."""
        if not self.address:
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as error:
            log.debug("Cannot notify systemd at %s: %s", self.address, error)

    def ready(self, status):
        """Up and running, with the first status line."""
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status):
        """A fresh status line for `systemctl status`."""
        self.notify(f"STATUS={status}")

    def stopping(self):
        """On the way out."""
        self.notify("STOPPING=1", "STATUS=Stopping")
