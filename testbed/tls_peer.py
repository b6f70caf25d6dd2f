"""A loopback TLS server that verifies client certificates, built on Python's ssl (OpenSSL), for the sender's
TLS tests: it ends as stunnel in front of a relay does, or as it does when the relay behind it is gone."""

import select
import socket
import ssl
import threading

from testbed.loopback import listen


class TlsPeer:
    """Accepts TLS on 127.0.0.1 with `cert`/`key`, asking for a client certificate signed by `ca`.

    relay: read to the end of stream, then a TLS close and a TCP one (what stunnel does once its relay closed).
    ragged: read to the end, then close without a TLS close (stunnel whose relay went away). Only what relay-mode
    connections read counts as delivered. `handshake_errors` holds what refused clients met.
    """

    def __init__(self, ca, cert, key, mode="relay", maximum=None):
        self.mode = mode
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.context.load_verify_locations(cafile=ca)
        self.context.verify_mode = ssl.CERT_REQUIRED
        if maximum is not None:
            self.context.maximum_version = maximum
        self.server = listen(0, backlog=16)
        self.port = self.server.getsockname()[1]
        self.handshake_errors = []
        self._received = []
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._loop, daemon=True).start()

    def data(self):
        """Everything relay-mode connections read."""
        with self._lock:
            return b"".join(self._received)

    def _loop(self):
        while not self._stopped:
            if not select.select([self.server], [], [], 0.1)[0]:
                continue
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as error:
            with self._lock:
                self.handshake_errors.append(getattr(error, "reason", None) or str(error))
            conn.close()
            return
        chunks = []
        try:
            while data := tls.recv(65536):
                chunks.append(data)
            if self.mode == "relay":
                with self._lock:
                    self._received.extend(chunks)
                tls.unwrap().close()
            else:
                socket.socket.shutdown(tls, socket.SHUT_RDWR)
                tls.close()
        except (ssl.SSLError, OSError):
            tls.close()

    def close(self):
        self._stopped = True
        self.server.close()
