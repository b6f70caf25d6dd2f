"""HTTP GET that ends by a deadline and reads a bounded answer, whatever the peer does.

A per-read timeout (what requests offers) lets a peer that sends one byte a second hold a request
for ever. Here a timer shuts the socket down at the deadline: `shutdown()` wakes a thread blocked
in recv, where `close()` would not. TLS is always verified.
"""

import base64
import http.client
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from presence.config import defaults

_USER_AGENT = "presence-monitoring"


class WebError(Exception):
    """No usable answer; the message says why, without the URL (callers name it, redacted)."""


class Timeout(WebError):
    """The whole request did not end within its deadline."""


class TooLarge(WebError):
    """The answer is larger than the caller's bound."""


class TlsError(WebError):
    """TLS failed; `kind` is "untrusted" (the certificate), "bundle" (the CA file) or "handshake"."""

    def __init__(self, message, kind, reason=None):
        super().__init__(message)
        self.kind, self.reason = kind, reason or message


@dataclass(frozen=True)
class Response:
    """An answer: its status, its body (whole, within the bound) and its Location header, if any."""

    status: int
    body: bytes
    location: str = None

    def text(self):
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self, **options):
        """The body as JSON; ValueError when it is not (too deep a nesting included)."""
        try:
            return json.loads(self.body, **options)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def redact(url):
    """The URL without the password of a `user:pass@` (shown as `***@`): for messages and logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def get(url, timeout, max_bytes, headers=None, ca_bundle=None, tally=None):
    """GET `url` and return its Response within `timeout` seconds, or raise WebError.

    A `user:pass@` in the URL is sent as basic auth unless `headers` has an Authorization. `tally(size)`
    is told of each block of the body before it is kept, and may raise to stop reading (a budget shared
    by several requests).
    """
    parts = _split(url)
    context = tls_context(ca_bundle) if parts.scheme == "https" else None
    deadline = Deadline(timeout)
    try:
        connection = _Connection(parts.hostname, parts.port or _PORTS[parts.scheme], deadline, context)
        try:
            connection.request("GET", urlunsplit(("", "", parts.path or "/", parts.query, "")),
                               headers={**_basic_auth(parts), "User-Agent": _USER_AGENT, **(headers or {})})
            answer = connection.getresponse()
            body = _read(answer, max_bytes, tally)
            # A body cut short by the deadline's shutdown reads as a short one, not as an error.
            if deadline.expired:
                raise deadline.timeout()
            if answer.length:
                raise WebError(f"the answer ended {answer.length:,} bytes short of its Content-Length")
            return Response(answer.status, body, answer.getheader("Location"))
        finally:
            deadline.stop()
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as error:
        failure = _failure(error, deadline)
        if isinstance(failure, TlsError):
            _contexts.pop(ca_bundle, None)  # a bundle fixed since is read again at the next request
        raise failure from None


def _failure(error, deadline):
    if deadline.expired or isinstance(error, TimeoutError):
        return deadline.timeout()
    if isinstance(error, ssl.SSLCertVerificationError):
        return TlsError(f"its TLS certificate is not trusted ({error.verify_message})", "untrusted",
                        error.verify_message)
    if isinstance(error, ssl.SSLError):
        return TlsError(f"TLS failed: {error.reason or error}", "handshake")
    if isinstance(error, OSError) and error.strerror:
        return WebError(f"{type(error).__name__}: {error.strerror}")
    if isinstance(error, ValueError):
        # Its text may quote a header, and a header may hold a token.
        return WebError(f"{type(error).__name__}: the request could not be made")
    text = str(error)[:defaults.QUOTED_ANSWER_LENGTH]
    return WebError(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def tls_context(ca_bundle=None):
    """A verifying TLS context: the system's CAs, or only those of `ca_bundle`; loaded once (20 ms each)."""
    context = _contexts.get(ca_bundle)
    if context is None:
        context = _contexts[ca_bundle] = _load_context(ca_bundle)
    return context


_contexts = {}


def _load_context(ca_bundle):
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (ssl.SSLError, ValueError):
        raise TlsError(f"{ca_bundle} holds no PEM certificate", "bundle") from None
    except OSError as error:
        raise TlsError(f"cannot read {ca_bundle}: {error.strerror or error}", "bundle") from None


_PORTS = {"http": 80, "https": 443}


def _split(url):
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    except ValueError as error:
        raise WebError(f"not a usable URL: {error}") from None
    if parts.scheme not in _PORTS or not parts.hostname:
        raise WebError("not an http:// or https:// URL")
    return parts


def _basic_auth(parts):
    if parts.username is None:
        return {}
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _read(answer, max_bytes, tally=None):
    length = answer.getheader("Content-Length") or ""
    if length.isdigit() and int(length) > max_bytes:
        raise TooLarge(f"the answer is {int(length):,} bytes, more than the {max_bytes:,} accepted")
    chunks, size = [], 0
    # Never more than one byte past the bound is read, whatever the peer sends.
    while chunk := answer.read(min(defaults.HTTP_READ_CHUNK, max_bytes + 1 - size)):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"the answer is more than the {max_bytes:,} bytes accepted")
        if tally is not None:
            tally(len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)


class Deadline:
    """A request's time: shuts the watched socket down when `seconds` are up (waking a thread blocked on it)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.expired = False
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sock = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def timeout(self):
        """The Timeout to raise once the deadline has passed."""
        return Timeout(f"Timeout: no complete answer within {self.seconds:g} s")

    def left(self):
        """Seconds left; raise Timeout when none are."""
        left = self._end - time.monotonic()
        if left <= 0 or self.expired:
            raise self.timeout()
        return left

    def watch(self, sock):
        """Shut `sock` down at the deadline (None: nothing); raise Timeout if it has passed."""
        with self._lock:
            self._sock = sock
            if self.expired and sock is not None:
                raise self.timeout()

    def stop(self):
        """Cancel the timer and watch nothing more (before the caller closes the socket)."""
        self._timer.cancel()
        # The caller closes the socket next: a descriptor number may be reused, never shut it down then.
        self.watch(None)

    def _expire(self):
        with self._lock:
            self.expired = True
            if self._sock is not None:
                try:
                    # socket.socket's own shutdown: an SSLSocket's would also drop its TLS state.
                    socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
                except OSError:
                    pass


class _Connection(http.client.HTTPConnection):
    """An HTTP(S) connection whose every step, name lookup included, ends by the deadline."""

    def __init__(self, host, port, deadline, context):
        super().__init__(host, port, timeout=deadline.left())
        self.deadline, self.context = deadline, context

    def connect(self):
        """Connect (and shake hands for TLS) within the deadline."""
        self.sock = connect(self.host, self.port, self.deadline)
        if self.context is not None:
            self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host,
                                                 do_handshake_on_connect=False)
            self.deadline.watch(self.sock)
            self.sock.do_handshake()


def connect(host, port, deadline):
    """A TCP socket to the first address of `host` that answers, name lookup included, by `deadline` (a
    Deadline, which then watches the socket); raise Timeout, WebError or the last OSError."""
    error = None
    for family, kind, proto, _, address in resolve(host, port, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(deadline.left())
            deadline.watch(sock)
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as failed:
            error = failed
            deadline.watch(None)
            sock.close()
        except Timeout:
            sock.close()
            raise
    raise error or WebError(f"no address for {host}")


_IP = re.compile(r"^[0-9.]+$|:")


def resolve(host, port, deadline):
    """getaddrinfo for a TCP connection, but a resolver that hangs is left behind at `deadline` (raise Timeout);
    WebError when the name does not resolve."""
    if _IP.search(host):
        try:
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise WebError(f"cannot resolve {host}: {error.strerror}") from None
    outcome = []

    def lookup():
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            outcome.append(error)

    worker = threading.Thread(target=lookup, name="resolve", daemon=True)
    worker.start()
    worker.join(deadline.left())
    if not outcome:
        raise Timeout(f"Timeout: the name {host} did not resolve within {deadline.seconds:g} s")
    if isinstance(outcome[0], Exception):
        raise WebError(f"cannot resolve {host}: {getattr(outcome[0], 'strerror', None) or outcome[0]}")
    return outcome[0]
