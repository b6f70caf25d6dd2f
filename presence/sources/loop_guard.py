"""The loop guard: recognise what this daemon publishes over MQTT when Home Assistant shows it back.

Our own verdict read back from Home Assistant is no evidence: an entity we publish, or a `person.*` that
takes its state from a tracker of ours, is an echo. Used by presence.sources.homeassistant.
"""

import threading

from presence.config import defaults
from presence.outputs.mqtt.topics import OWN_MARKER

NO_EVIDENCE_STATES = frozenset({"unknown", "unavailable"})


class LoopGuard:
    """Tell which entities are, or follow, the ones we publish; trackers' verdicts are cached a while.

    `read_entity(entity_id)` gives (state, attributes), (None, {}) when there is no such entity; what it
    raises goes through. `own`: (entity ids, base topic) of what this daemon publishes, or None.
    """

    def __init__(self, read_entity, own=None):
        self._read_entity = read_entity
        self._own_ids, self._own_topic = own or (frozenset(), None)
        self._own_trackers = {}  # tracker entity id -> (whether we publish it, when that was read; None: due)
        self._recheck = threading.Event()

    def recheck(self):
        """Ask again at the next `start_poll` which trackers are ours (thread-safe, returns at once)."""
        self._recheck.set()

    def start_poll(self):
        """Mark every cached verdict due when a recheck was asked for since the last poll."""
        if self._recheck.is_set():
            self._recheck.clear()  # first: a request made while this poll runs is honoured by the next
            self._own_trackers = {tracker: (ours, None) for tracker, (ours, _) in self._own_trackers.items()}

    def echo_of(self, entity_id, attributes, now=None):
        """(the entity we publish that `entity_id` is or follows, or None; the tracker not known yet to be ours
        or not that its state may come from, or None)."""
        if self._own_topic is None:
            return None, None
        if entity_id in self._own_ids or attributes.get(OWN_MARKER) == self._own_topic:
            return entity_id, None
        trackers = attributes.get("device_trackers") if entity_id.startswith("person.") else None
        undecided = []
        for tracker in trackers if isinstance(trackers, list) else ():
            if isinstance(tracker, str):
                ours = self._is_own_tracker(tracker, now)
                if ours:
                    return tracker, None
                if ours is None:
                    undecided.append(tracker)
        # A person takes its state from one tracker, its `source`, and skips absent, unknown and unavailable
        # ones (homeassistant/components/person): an undecided tracker in doubt is the source, or any when
        # the person does not say its source.
        source = attributes.get("source")
        if source in undecided or (undecided and not isinstance(source, str)):
            return None, source if source in undecided else undecided[0]
        return None, None

    def _is_own_tracker(self, tracker, now):
        """True when we publish `tracker`, False when not, None when Home Assistant does not show it yet."""
        if tracker in self._own_ids:
            return True
        ours, asked = self._own_trackers.get(tracker, (None, None))
        if ours is not None and _recent(asked, now):
            return ours
        state, attributes = self._read_entity(tracker)
        # Absent, unknown or unavailable (Home Assistant then drops the attributes that carry our marker):
        # no verdict; an earlier one stands, and it is asked again at the next poll.
        if not decisive(state, attributes):
            return ours
        ours = attributes.get(OWN_MARKER) == self._own_topic
        self._own_trackers[tracker] = (ours, now)
        return ours


def loop_problem(entity_id, own):
    """What a loop through `entity_id` means, and how to end it."""
    if entity_id == own:
        return (f"{entity_id} is published by this daemon over MQTT: it is ignored, since reading it back would "
                "count our own verdict as evidence; remove it from that person's homeassistant_entities")
    return (f"{entity_id} follows {own}, which this daemon publishes over MQTT: it is ignored, since it would "
            f"echo our own verdict; map that person's other trackers in homeassistant_entities instead of "
            f"{entity_id}, or remove {own} from the person in Home Assistant")


def loop_ended(entity_id, own):
    """That `entity_id` is no longer, or no longer follows, the entity `own` we publish."""
    if entity_id == own:
        return f"{entity_id} no longer carries this daemon's marker: it counts as evidence again"
    return f"{entity_id} no longer follows {own}, which this daemon publishes: it counts as evidence again"


def decisive(state, attributes):
    """Whether a read shows what an entity is: it exists, has a state, and Home Assistant shows its attributes."""
    return state is not None and state not in NO_EVIDENCE_STATES and bool(attributes)


def _recent(asked, now):
    """Whether a verdict read at `asked` still stands at `now` (a clock that went back: no)."""
    return asked is not None and now is not None and 0 <= now - asked < defaults.HA_OWN_RECHECK_INTERVAL
