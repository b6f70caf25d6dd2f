"""A paho client as the daemon and `check` make it: credentials, TLS, a connect that ends by one deadline,
and what its failures mean in the words of the config."""

import socket
import ssl

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from presence.net import web
from presence.config import defaults
from presence.config.model import ConfigError

# CONNACK's "bad user name or password" and "not authorized", as paho gives them for MQTT 3.1.1 and 5.
_REFUSED_LOGIN = frozenset({4, 5, 134, 135})
# CONNACK's "unsupported protocol version" as paho gives it for MQTT 5 (also for a 3.1.1 broker's refusal).
UNSUPPORTED_PROTOCOL = 132


class LookupFailed(OSError):
    """The broker's name did not resolve (or not by the deadline)."""


class Client(paho.Client):
    """paho's client, whose name lookup and TCP connect end by one deadline (the TLS handshake by its own),
    and which sends nothing (not even CONNECT) when `give_up()` says so once the socket is made: a close
    during a slow connect."""

    give_up = staticmethod(lambda: False)
    _deadline = None

    def _create_socket(self):
        self._deadline = web.Deadline(self._connect_timeout)
        try:
            sock = super()._create_socket()
        except LookupFailed:
            raise
        except OSError:
            if self._deadline.expired:  # the TCP connect, ended by the deadline's shutdown
                raise TimeoutError(f"no answer within {self._connect_timeout:g} s") from None
            raise
        finally:
            self._deadline.stop()
        if self.give_up():
            sock.close()
            raise ConnectionAbortedError("closed while connecting")
        return sock

    def _create_socket_connection(self):
        # presence.net.web's: getaddrinfo in a helper thread left behind at the deadline, then each address.
        try:
            sock = web.connect(self._host, self._port, self._deadline)
        except web.Timeout as error:
            if "resolve" in str(error):
                raise LookupFailed(f"no answer within {self._connect_timeout:g} s") from None
            raise TimeoutError(str(error)) from None
        except web.WebError as error:
            raise LookupFailed(str(error).split(": ", 1)[-1]) from None
        # The TLS wrap detaches `sock`, so the deadline's shutdown no longer reaches it; the handshake has
        # its own (Python's SSL handshake takes the socket's timeout, paho's connect_timeout, as one deadline).
        self._deadline.watch(None)
        return sock


def client_id(mqtt):
    """mqtt.client_id, or the default prefix and this host's name (64 characters at most)."""
    return mqtt.client_id or (defaults.DEFAULT_MQTT_CLIENT_ID_PREFIX + socket.gethostname())[:64]


def make_client(mqtt, password, identity, config_path, protocol=paho.MQTTv311):
    """A paho client with the section's credentials and TLS, not yet connected; no reconnects of its own.
    Raises ConfigError when mqtt.ca_file cannot be used."""
    client = Client(paho.CallbackAPIVersion.VERSION2, client_id=identity, protocol=protocol,
                    reconnect_on_failure=False)
    client.connect_timeout = defaults.MQTT_TIMEOUT
    if mqtt.username:
        client.username_pw_set(mqtt.username, password)
    if mqtt.tls:
        try:
            context = ssl.create_default_context(cafile=mqtt.ca_file)
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
            raise ConfigError(config_path, [f"mqtt.ca_file: cannot use {mqtt.ca_file} as CA certificates: "
                                            f"{reason}"]) from None
        if not mqtt.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        client.tls_set_context(context)
    return client


def connect_properties(protocol):
    """MQTT 5's CONNECT properties: the broker sends us no packet larger than MQTT_MAX_PACKET (a retained
    message of megabytes on a topic we follow is then never read); None for 3.1.1, which cannot say it."""
    if protocol != paho.MQTTv5:
        return None
    properties = Properties(PacketTypes.CONNECT)
    properties.MaximumPacketSize = defaults.MQTT_MAX_PACKET
    return properties


def refusal(shown, reason_code):
    """What a CONNACK that refused us means."""
    login = " (check mqtt.username and the password)" if reason_code.value in _REFUSED_LOGIN else ""
    return f"{shown} refused the connection: {reason_code}{login}"


def connect_problem(mqtt, error):
    """What a failed connect means, in the words of the config."""
    shown = f"{mqtt.host}:{mqtt.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        fix = "set mqtt.ca_file to the CA that signed it" if not mqtt.ca_file else \
            f"mqtt.ca_file ({mqtt.ca_file}) did not sign it"
        return f"the TLS certificate of {shown} is not trusted ({error.verify_message}): {fix}"
    if isinstance(error, ssl.SSLError) or (mqtt.tls and isinstance(error, (ConnectionResetError, EOFError))):
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or "the connection was closed"
        return f"TLS with {shown} failed ({reason}): does it speak TLS on that port (mqtt.tls, mqtt.port)?"
    if isinstance(error, LookupFailed):
        return f"cannot resolve mqtt.host {mqtt.host!r}: {error}"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve mqtt.host {mqtt.host!r}: {error.strerror}"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return f"cannot reach {shown}: no answer within {defaults.MQTT_TIMEOUT:g} s"
    return f"cannot reach {shown}: {getattr(error, 'strerror', None) or error}"
