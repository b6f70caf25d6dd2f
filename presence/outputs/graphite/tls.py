"""Mutual TLS to a study's relay (`graphite.tls`): the client context, the handshake, what a failure means,
and a connection whose delivery is still confirmed by the relay's own end of stream.

Verification is always on, TLS 1.2 at least. The relay's confirmation is a TLS close (close_notify) after ours:
stunnel sends one only once the relay behind it has closed; when it cannot reach the relay it closes without
one, which never counts as delivery.
"""

import logging
import os
import select
import socket
import ssl
import stat
import time

from presence.config import defaults
from presence.config.model import ConfigError
from presence.outputs.graphite.connection import ConfirmedConnection, ConnectionFailed, wait_until

log = logging.getLogger(__name__)

# Alerts by which the relay refuses this home's certificate, and what each says of it.
_REFUSED = {
    "TLSV1_ALERT_UNKNOWN_CA": "the study's CA did not sign graphite.tls.cert",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "graphite.tls.cert has expired",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "graphite.tls.cert has been revoked",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "no certificate of this home reached it",
    "SSLV3_ALERT_BAD_CERTIFICATE": "it cannot use graphite.tls.cert",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "it cannot use graphite.tls.cert",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": "it cannot use graphite.tls.cert",
    "TLSV1_ALERT_ACCESS_DENIED": "it denies this home access",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "it ended the handshake (no certificate of this home it accepts, or no "
                                     "cipher in common)",
}
_NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST",
            "UNKNOWN_PROTOCOL"}
_OLD_TLS = {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE"}
# OpenSSL's verify codes for a chain that does not lead to graphite.tls.ca.
_UNTRUSTED = {2, 18, 19, 20, 21}


def key_file(tls, config_path, environ=os.environ):
    """This home's key: the systemd credential when it is there and not empty, else graphite.tls.key; either
    must be readable by its owner only."""
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    candidate = os.path.join(credentials, defaults.GRAPHITE_TLS_CREDENTIAL_NAME) if credentials else None
    if candidate and os.path.isfile(candidate) and os.path.getsize(candidate) > 0:
        path, where = candidate, f"graphite.tls.key: the credential {candidate}"
    elif tls.key:
        path, where = tls.key, f"graphite.tls.key: {tls.key}"
    else:
        raise ConfigError(config_path, [
            "graphite.tls.key: missing, and there is no systemd credential "
            f"'{defaults.GRAPHITE_TLS_CREDENTIAL_NAME}': give the path of this home's private key"])
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise ConfigError(config_path, [f"{where}: cannot read it: {error.strerror}"]) from None
    if mode & 0o077:
        raise ConfigError(config_path, [
            f"{where}: others than its owner may read or change it (mode {stat.S_IMODE(mode):04o}): "
            f"chmod 600 {path}, or hand it to the service as the systemd credential "
            f"'{defaults.GRAPHITE_TLS_CREDENTIAL_NAME}'"])
    return path


def client_context(tls, config_path, environ=os.environ):
    """The SSLContext of `tls` (a GraphiteTls): the study's CA, this home's certificate and key; ConfigError
    names the key whose file cannot be used."""
    key = key_file(tls, config_path, environ)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Debian's Python sets this by default; it makes a TCP end without a TLS close look like one, which
    # would count a dead relay's drop as a confirmation.
    context.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    try:
        context.load_verify_locations(cafile=tls.ca)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(config_path, [f"graphite.tls.ca: cannot use {tls.ca} as the study's CA certificate: "
                                        f"{_reason(error)}"]) from None
    try:
        context.load_cert_chain(tls.cert, key, password=_no_passphrase)
    except FileNotFoundError as error:
        which = "cert" if not os.path.exists(tls.cert) else "key"
        raise ConfigError(config_path, [f"graphite.tls.{which}: {error.filename or tls.cert}: no such file"]) from None
    except (OSError, ssl.SSLError, _Passphrase) as error:
        raise ConfigError(config_path, [f"graphite.tls.cert and graphite.tls.key: cannot use {tls.cert} with its "
                                        f"key: {_reason(error)}"]) from None
    return context


class _Passphrase(Exception):
    def __str__(self):
        return "the key is protected by a passphrase, which a service cannot type: store it without one"


def _no_passphrase():
    raise _Passphrase()


def _reason(error):
    if isinstance(error, ssl.SSLError) and error.reason == "KEY_VALUES_MISMATCH":
        return "the key does not belong to the certificate"
    if isinstance(error, ssl.SSLError) and error.reason in ("NO_START_LINE", "NO_CERTIFICATE_OR_CRL_FOUND"):
        return "not a PEM file"
    return getattr(error, "strerror", None) or str(error)


def _dates(path):
    try:
        decoded = ssl._ssl._test_decode_cert(path)  # the only reader of a certificate's dates in the stdlib
        return decoded, [ssl.cert_time_to_seconds(decoded[key]) for key in ("notBefore", "notAfter")]
    except (AttributeError, KeyError, OSError, ValueError, ssl.SSLError):
        return None, (None, None)


def expires_in(path, now):
    """Days until the certificate at `path` expires (negative once it has), or None when unreadable."""
    _, (_, ends) = _dates(path)
    return None if ends is None else (ends - now) / 86400


def certificate_problem(path, now):
    """None, or that the certificate at `path` has expired or is not valid yet at `now` (epoch seconds)."""
    decoded, (begins, ends) = _dates(path)
    if decoded is None:
        return None
    if now >= ends:
        return f"graphite.tls.cert ({path}) expired on {decoded['notAfter']}: the relay will refuse it; ask the " \
               "study for a new one"
    if now < begins:
        return f"graphite.tls.cert ({path}) is valid only from {decoded['notBefore']}: check this machine's clock"
    return None


class TlsClient:
    """Wraps each new connection to the relay in TLS, with `graphite.tls`'s files (read once, at its making)."""

    def __init__(self, tls, host, config_path, environ=os.environ):
        self.tls = tls
        self.server_name = tls.server_name or host
        self.handshake_timeout = defaults.GRAPHITE_TLS_HANDSHAKE_TIMEOUT
        self.context = client_context(tls, config_path, environ)
        problem = certificate_problem(tls.cert, time.time())
        if problem:
            log.warning("Graphite: %s", problem)

    def wrap(self, sock, deadline, give_up, clock):
        """A TlsConnection on the connected `sock` once the relay has shaken hands and not refused this home."""
        try:
            tls_sock = self.context.wrap_socket(sock, server_hostname=self.server_name,
                                                do_handshake_on_connect=False, suppress_ragged_eofs=False)
        except (OSError, ValueError) as error:
            raise ConnectionFailed("unreachable", f"cannot start TLS: {error}") from None
        connection = TlsConnection(tls_sock, self)
        connection.handshake(deadline, give_up, clock)
        return connection

    def explain(self, error):
        """(state, reason) for `error`, an SSLError or OSError met on a connection to the relay."""
        if isinstance(error, ssl.SSLCertVerificationError):
            code = error.verify_code
            if code in _UNTRUSTED:
                why = f"is not signed by graphite.tls.ca ({self.tls.ca})"
            elif code == 10:
                why = "has expired"
            elif code == 9:
                why = "is not valid yet (check this machine's clock)"
            elif code == 62:
                why = f"is not for {self.server_name}: set graphite.tls.server_name to a name it holds"
            else:
                why = f"cannot be trusted: {error.verify_message}"
            return "not trusted", f"the relay's certificate {why}"
        reason = getattr(error, "reason", None)
        if reason in _REFUSED:
            return ("refusing this home's certificate",
                    f"the relay refused this home's certificate ({self.tls.cert}): {_REFUSED[reason]}")
        if reason in _NOT_TLS:
            return "not speaking TLS", "the server does not speak TLS on this port (a plaintext carbon port?)"
        if reason in _OLD_TLS:
            return "not speaking TLS 1.2", "the relay offers no TLS 1.2 or newer"
        if isinstance(error, ssl.SSLEOFError):
            return "closing connections", "the relay closed the connection in the TLS handshake"
        if isinstance(error, ssl.SSLError):
            return "failing TLS", f"TLS failed: {reason or error}"
        return "unreachable", f"connection lost in the TLS handshake: {error.strerror or error}"


class TlsConnection(ConfirmedConnection):
    """A ConfirmedConnection over TLS: its end of stream is a TLS close then a TCP one, and the relay's
    confirmation is its TLS close after ours (an end without one is a failure)."""

    def __init__(self, sock, client):
        super().__init__(sock)
        self.client = client

    def handshake(self, deadline, give_up, clock):
        """Shake hands by `deadline`, then give the relay GRAPHITE_TLS_SETTLE s to refuse this home."""
        self.sock.setblocking(False)
        while True:
            try:
                self.sock.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._wait(deadline, give_up, clock, write=False)
            except ssl.SSLWantWriteError:
                self._wait(deadline, give_up, clock, write=True)
            except OSError as error:
                raise ConnectionFailed(*self.client.explain(error)) from None
        settle = min(deadline, clock.monotonic() + defaults.GRAPHITE_TLS_SETTLE)
        # Its session tickets come once it has taken our certificate; an alert or a close, if it does not.
        while wait_until(lambda seconds: bool(select.select([self.sock], [], [], seconds)[0]),
                         settle - clock.monotonic(), give_up, clock):
            if self._peer_closed():
                raise ConnectionFailed("closing connections", "the relay closed the connection right after the "
                                       "TLS handshake (it cannot reach its carbon, or it refused this home)")
            if not self.sock.pending() and not select.select([self.sock], [], [], 0)[0]:
                break

    def check_open(self):
        """Raise ConnectionFailed when the relay's side has closed (or refused this home meanwhile)."""
        if self._peer_closed():
            raise ConnectionFailed("closing connections", "the relay's TLS end closed the connection (it cannot "
                                   "reach the relay behind it, or it refused this home)")
        return True

    def _wait(self, deadline, give_up, clock, write):
        ready = (lambda seconds: bool(select.select([], [self.sock], [], seconds)[1])) if write else \
            (lambda seconds: bool(select.select([self.sock], [], [], seconds)[0]))
        if not wait_until(ready, deadline - clock.monotonic(), give_up, clock):
            raise ConnectionFailed("not answering TLS", "no answer to the TLS handshake in time (a plaintext carbon "
                                   "port, or a stalled relay?)")

    def half_close(self, now):
        """Our TLS close, then our TCP end of stream."""
        self.check_open()
        try:
            self._tls_close()
            socket.socket.shutdown(self.sock, socket.SHUT_WR)
        except ssl.SSLError as error:
            raise ConnectionFailed(*self.client.explain(error)) from None
        except OSError as error:
            raise ConnectionFailed("not taking data", f"send failed: {error}") from None
        self.confirming_since = now
        return True

    def _tls_close(self):
        self.sock.setblocking(False)
        for _ in range(100):
            try:
                self.sock.unwrap()
            except ssl.SSLWantReadError:
                return  # ours went out; the relay's comes later
            except ssl.SSLWantWriteError:
                select.select([], [self.sock], [], defaults.GRAPHITE_SEND_TIMEOUT)
                continue
            # Python's unwrap also returns when OpenSSL merely gave up waiting: no proof the relay closed.
            raise ConnectionFailed("closing connections", "the relay's TLS end closed before ours")
        raise ConnectionFailed("not taking data", "cannot send our TLS close")

    def _peer_closed(self):
        try:
            return self._read_end() is not None
        except OSError:
            return True

    def _peer_ended(self):
        end = self._read_end()
        if end == "dropped":
            raise ConnectionFailed("closing connections", "the relay's side ended without a TLS close (stunnel "
                                   "lost the relay behind it): nothing on this connection counts as delivered")
        return end == "closed"

    def _read_end(self):
        """None while the relay's side is open, "closed" after its TLS close, "dropped" after a TCP end without
        one; an alert raises ConnectionFailed."""
        # TLS cannot be peeked at: read it (the relay sends only session tickets, alerts and its close). Only a
        # read, not unwrap(), tells a TLS close (b"" or SSLZeroReturnError) from a TCP end (SSLEOFError).
        if not self.sock.pending() and not select.select([self.sock], [], [], 0)[0]:
            return None
        try:
            self.sock.setblocking(False)
            while self.sock.recv(4096):
                pass  # whatever the relay sends is not its close
            return "closed"
        except ssl.SSLZeroReturnError:
            return "closed"
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None
        except ssl.SSLEOFError:
            return "dropped"
        except ssl.SSLError as error:
            raise ConnectionFailed(*self.client.explain(error)) from None
