"""Read people_config.yaml once into typed objects, reporting every problem by key path."""

import os
import stat

import yaml

from presence.config import defaults
from presence.config.model import (Config, ConfigError, GraphiteConfig, HomeAssistantConfig, MetricsConfig,
                                   MqttConfig, NetworkConfig, Person, ReportConfig, WifiConfig, shown_text)
from presence.config.checker import Checker
from presence.config.people import people_section, person_key
from presence.config.sections import (METRICS_KEYS, TOP_KEYS, graphite_section, homeassistant_section,
                                      ignore_macs_section, mqtt_section, network_section, report_section,
                                      wifi_section)

# The model's names belong to this module's interface too: callers import them from here.
__all__ = ["Config", "ConfigError", "GraphiteConfig", "HomeAssistantConfig", "MetricsConfig", "MqttConfig",
           "NetworkConfig", "Person", "ReportConfig", "WifiConfig", "default_config_path",
           "load_config", "parse_config", "person_key"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _BoundedLoader(yaml.SafeLoader):
    """safe_load with bounded `<<` merges, and dates left as text (the config has none; a bad one raised)."""

    yaml_implicit_resolvers = {first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
                               for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def __init__(self, stream):
        super().__init__(stream)
        self.merged_keys = 0
        self.flattening = set()

    def flatten_mapping(self, node):
        # Aliases cost nothing until a merge copies their keys: count every key each merge copies.
        # (`flattening` ends the loop of a mapping merged into itself.)
        self.flattening.add(id(node))
        try:
            for key_node, value_node in node.value:
                if key_node.tag != _MERGE_TAG:
                    continue
                for source in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    if isinstance(source, yaml.MappingNode):
                        if id(source) not in self.flattening:
                            self.flatten_mapping(source)
                        self.merged_keys += len(source.value)
            if self.merged_keys > defaults.MAX_YAML_MERGED_KEYS:
                raise yaml.constructor.ConstructorError(
                    None, None, f"merges (<<) copy in more than {defaults.MAX_YAML_MERGED_KEYS} keys", node.start_mark)
            super().flatten_mapping(node)
        finally:
            self.flattening.discard(id(node))

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as error:  # !!int abc, a 5000-digit number
            raise yaml.constructor.ConstructorError(None, None, f"cannot read this value: {shown_text(error)}",
                                                    node.start_mark) from None


def default_config_path(environ=os.environ):
    """Return the config path from $PRESENCE_CONFIG, or the default one."""
    return environ.get(defaults.CONFIG_ENV_VAR) or defaults.DEFAULT_CONFIG_PATH


def load_config(path):
    """Read and validate the YAML file at `path`; raise ConfigError naming every problem."""
    return parse_config(_parse_yaml(_read_text(path), path), path)


def _read_text(path):
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path) and \
            not stat.S_ISCHR(os.stat(path).st_mode):
        # A FIFO or socket would block the start until someone writes to it.
        raise ConfigError(path, ["not a regular file"])
    try:
        with open(path, "rb") as handle:
            data = handle.read(defaults.MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error.strerror or error}"]) from None
    if len(data) > defaults.MAX_CONFIG_BYTES:
        raise ConfigError(path, [f"the file is larger than {defaults.MAX_CONFIG_BYTES // 1000} kB, the most a "
                                 "config may have (a household's has a few kB): is it the right file?"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(path, [f"line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
                                 "save the file as UTF-8"]) from None


def _parse_yaml(text, path):
    try:
        return yaml.load(text, Loader=_BoundedLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(path, [f"{where}not valid YAML: {shown_text(reason)}"]) from None
    except RecursionError:
        raise ConfigError(path, ["not a usable config: lists or mappings are nested hundreds of levels "
                                 "deep"]) from None


def parse_config(raw, path="<config>"):
    """Validate an already parsed YAML document."""
    check = Checker()
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the file must be a YAML mapping with at least a 'network' section"])
    check.unknown_keys(raw, TOP_KEYS, "")
    network = network_section(check, raw)
    wifi = wifi_section(check, raw.get("wifi", {}))
    homeassistant = homeassistant_section(check, raw.get("homeassistant"))
    graphite = graphite_section(check, raw.get("graphite", {}))
    state_file = check.file_path(raw.get("state_file", defaults.DEFAULT_STATE_FILE), "state_file",
                                 "the path of the state file")
    save_interval = check.number(raw.get("state_save_interval", defaults.DEFAULT_STATE_SAVE_INTERVAL),
                                 "state_save_interval", 0, defaults.MAX_STATE_SAVE_INTERVAL, unit=" s")
    ignore = ignore_macs_section(check, raw.get("ignore_macs", []))
    people, owner = people_section(check, raw.get("people", []), wifi, homeassistant, ignore)
    section = check.mapping(raw.get("metrics", {}), "metrics", METRICS_KEYS)
    metrics = MetricsConfig(**{key: check.boolean(section.get(key, False), f"metrics.{key}")
                               for key in sorted(METRICS_KEYS)})
    report = report_section(check, raw.get("report", {}), graphite)
    mqtt = mqtt_section(check, raw.get("mqtt"))
    if check.problems:
        raise ConfigError(path, check.problems)
    return Config(path=path, network=network, wifi=wifi, homeassistant=homeassistant,
                  graphite=graphite, state_file=state_file, people=tuple(people),
                  state_save_interval=defaults.DEFAULT_STATE_SAVE_INTERVAL if save_interval is None else save_interval,
                  ignore_macs=frozenset(ignore), mac_owner=owner, metrics=metrics, report=report, mqtt=mqtt)
