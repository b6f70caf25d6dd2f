"""Read people_config.yaml once into typed objects, reporting every problem by key path."""

import os

import yaml

from presence import defaults
from presence.config_model import (Config, ConfigError, GraphiteConfig, HomeAssistantConfig, MetricsConfig,
                                   NetworkConfig, Person, ReportConfig, WifiConfig)
from presence.config_sections import (METRICS_KEYS, TOP_KEYS, Checker, graphite_section, homeassistant_section,
                                      ignore_macs_section, network_section, people_section, person_key,
                                      report_section, wifi_section)

# The model's names belong to this module's interface too: callers import them from here.
__all__ = ["Config", "ConfigError", "GraphiteConfig", "HomeAssistantConfig", "MetricsConfig", "NetworkConfig",
           "Person", "ReportConfig", "WifiConfig", "default_config_path", "load_config", "parse_config", "person_key"]


def default_config_path(environ=os.environ):
    """Return the config path from $PRESENCE_CONFIG, or the default one."""
    return environ.get(defaults.CONFIG_ENV_VAR) or defaults.DEFAULT_CONFIG_PATH


def load_config(path):
    """Read and validate the YAML file at `path`; raise ConfigError naming every problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error.strerror}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(path, [f"{where}not valid YAML: {reason}"]) from None
    return parse_config(raw, path)


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
    state_file = check.string(raw.get("state_file", defaults.DEFAULT_STATE_FILE), "state_file")
    ignore = ignore_macs_section(check, raw.get("ignore_macs", []))
    people, owner = people_section(check, raw.get("people", []), wifi, homeassistant, ignore)
    section = check.mapping(raw.get("metrics", {}), "metrics", METRICS_KEYS)
    metrics = MetricsConfig(**{key: check.boolean(section.get(key, False), f"metrics.{key}")
                               for key in sorted(METRICS_KEYS)})
    report = report_section(check, raw.get("report", {}), graphite)
    if check.problems:
        raise ConfigError(path, check.problems)
    return Config(path=path, network=network, wifi=wifi, homeassistant=homeassistant,
                  graphite=graphite, state_file=state_file, people=tuple(people),
                  ignore_macs=frozenset(ignore), mac_owner=owner, metrics=metrics, report=report)
