"""`suggest`: whose each unmapped device is, from the history the daemon kept and Home Assistant's own."""

import json
import logging

from presence import exits
from presence.config import defaults
from presence.history.hints import kept_history
from presence.history.suggest import suggest
from presence.safe_text import safe
from presence.sources.homeassistant import HomeAssistantError, HomeAssistantSource

log = logging.getLogger(__name__)


def ha_records(config, token, since, now):
    """What Home Assistant's recorder kept of each person's entities, as journal records: so that `suggest`
    has a reference from the first day on, not only for the time the daemon has watched."""
    owners = {entity: person.key for person in config.people for entity in person.homeassistant_entities}
    if not config.homeassistant or not owners or token is None:
        return []
    source = HomeAssistantSource(config.homeassistant, list(owners), token)
    try:
        spans = source.history(list(owners), since, now, timeout=defaults.HA_HISTORY_TIMEOUT)
    except HomeAssistantError as error:
        log.warning("Home Assistant's history could not be read (%s); using the daemon's own only", error)
        return []
    return [{"kind": "ha", "person": owners[entity], "start": start, "end": end, "home": home}
            for entity, items in spans.items() for start, end, home in items if home is not None]


def run_suggest(config, token, state, folder, now, args, out):
    """Work out and print the suggestions; return the exit status."""
    history = kept_history(folder, state, now, ha_records(config, token, now - defaults.HISTORY_KEEP_DAYS * 86400, now))
    found = suggest(history, config, now, args.threshold)
    return print_suggestions(config, found, out, as_json=args.json, as_yaml=args.yaml)


def print_suggestions(config, found, out, as_json=False, as_yaml=False):
    """Print the suggestions as a table, JSON or config lines; return the exit status."""
    if as_json:
        out.write(json.dumps([as_dict(item) for item in found], indent=2) + "\n")
    elif as_yaml:
        out.write(yaml_lines(config, found))
    else:
        out.write(table(found))
    return exits.EX_OK


def as_dict(item):
    """One suggestion as plain data for `--json`."""
    return {"mac": item.mac, "person": item.person, "confidence": round(item.confidence, 3),
            "reasons": list(item.reasons), "randomized": item.randomized, "hostname": item.hostname}


def table(found):
    """The suggestions as text: each device, its likely owner and confidence, and the reasons."""
    if not found:
        return "No unmapped device has history yet: run the daemon for a few of everyone's comings and goings.\n"
    lines = []
    for item in found:
        about = f"{'randomized' if item.randomized else 'fixed'} MAC, hostname {safe(item.hostname or '-')}"
        who = f"{item.person}  {item.confidence:.2f}" if item.person else f"nobody  {item.confidence:.2f}"
        lines.append(f"{item.mac} ({about})  ->  {who}")
        lines += [f"    {safe(reason)}" for reason in item.reasons]
    return "\n".join(lines) + "\n"


def yaml_lines(config, found):
    """The `macs:` entries to add, under each person's name, for the suggestions that name someone."""
    named = [item for item in found if item.person]
    if not named:
        return "# No suggestion reaches the threshold: nothing to add.\n"
    names = {person.key: person.name for person in config.people}
    lines = ["# Add each MAC below to the `macs:` list of the person it is under (people_config.yaml)."]
    for key in dict.fromkeys(item.person for item in named):
        lines.append(f"# {safe(names.get(key, key))}:")
        for item in (i for i in named if i.person == key):
            lines.append(f"      - {json.dumps(item.mac)}  # suggest: {item.confidence:.2f}")
    return "\n".join(lines) + "\n"
