"""What a publisher keeps for Home Assistant as decisions come (what is wanted, what changed, a person
removed), and the dry run's PrintingPublisher, which prints each message: no broker."""

import io
import json

from presence.config.load import parse_config
from presence.outputs.mqtt.messages import Message
from presence.outputs.mqtt.wanted import PrintingPublisher, Publisher
from presence.state.model import PersonStatus, Snapshot, State
from tests.conftest import make_config
from tests.outputs.printing.test_stdout import FlushCounting

NICK_CONFIG = "homeassistant/device_tracker/presence/nick/config"
SUSAN_CONFIG = "homeassistant/device_tracker/presence/susan/config"
HOUSEHOLD_CONFIGS = ["homeassistant/sensor/presence/count_home/config",
                     "homeassistant/binary_sensor/presence/anyone_home/config"]
SUSAN_STATES = ["presence/person/susan/state", "presence/person/susan/attributes"]


class ListPublisher(Publisher):
    """Keeps every message queued, in order."""

    def __init__(self, config):
        self.queued = []
        super().__init__(config)

    def _queue(self, messages):
        self.queued.extend(messages)

    def take(self):
        taken, self.queued = self.queued, []
        return taken


def household(*names):
    raw = make_config(mqtt={"host": "broker.lan"})
    raw["people"] = [{"name": name} for name in names]
    return parse_config(raw)


def snapshot(*home, keys=("nick", "susan")):
    people = tuple(PersonStatus(key, key in home, key in home, False, int(key in home)) for key in keys)
    return Snapshot(at=1_800_000_000.0, people=people, devices_present_count=len(home))


def by_topic(messages):
    return {message.topic: message.payload for message in messages}


def test_a_new_publisher_queues_every_discovery_config_retained_and_no_state():
    queued = ListPublisher(household("Nick", "Susan")).take()
    assert [m.topic for m in queued] == [NICK_CONFIG, SUSAN_CONFIG, *HOUSEHOLD_CONFIGS, "presence/attributes"]
    assert all(m.retain and m.payload for m in queued)
    assert json.loads(by_topic(queued)[NICK_CONFIG])["state_topic"] == "presence/person/nick/state"


def test_the_first_decision_queues_every_state():
    publisher = ListPublisher(household("Nick", "Susan"))
    publisher.take()
    publisher.publish(snapshot("nick"), State())
    states = by_topic(publisher.take())
    assert set(states) == {"presence/person/nick/state", "presence/person/nick/attributes", *SUSAN_STATES,
                           "presence/count_home", "presence/anyone_home"}
    assert states["presence/person/nick/state"] == "home" and states["presence/person/susan/state"] == "not_home"
    assert states["presence/count_home"] == "1" and states["presence/anyone_home"] == "ON"


def test_a_decision_that_changes_nothing_queues_nothing():
    publisher = ListPublisher(household("Nick", "Susan"))
    publisher.publish(snapshot("nick"), State())
    publisher.take()
    publisher.publish(snapshot("nick"), State())
    assert publisher.take() == []


def test_only_what_changed_is_queued_at_the_next_decision():
    publisher = ListPublisher(household("Nick", "Susan"))
    publisher.publish(snapshot("nick"), State())
    publisher.take()
    publisher.publish(snapshot("nick", "susan"), State())
    changed = by_topic(publisher.take())
    assert set(changed) == {*SUSAN_STATES, "presence/count_home"}
    assert changed["presence/person/susan/state"] == "home" and changed["presence/count_home"] == "2"
    assert json.loads(changed["presence/person/susan/attributes"])["sources"] == ["wifi"]


def test_a_state_that_changes_and_changes_back_is_queued_each_time():
    publisher = ListPublisher(household("Nick", "Susan"))
    for home in (("nick",), (), ("nick",)):
        publisher.publish(snapshot(*home), State())
    nick = [m.payload for m in publisher.take() if m.topic == "presence/person/nick/state"]
    assert nick == ["home", "not_home", "home"]


def test_a_republish_queues_the_configs_then_the_latest_states_then_online():
    publisher = ListPublisher(household("Nick", "Susan"))
    publisher.publish(snapshot("nick"), State())
    publisher.publish(snapshot("susan"), State())
    publisher.take()
    publisher.republish()
    again = publisher.take()
    topics = [m.topic for m in again]
    assert topics[:5] == [NICK_CONFIG, SUSAN_CONFIG, *HOUSEHOLD_CONFIGS, "presence/attributes"]
    assert again[-1] == Message("presence/status", "online")
    assert len(topics) == len(set(topics)) == 5 + 6 + 1
    wanted = by_topic(again)
    assert wanted["presence/person/nick/state"] == "not_home" and wanted["presence/person/susan/state"] == "home"


def test_a_republish_before_any_decision_is_the_configs_and_online():
    publisher = ListPublisher(household("Nick"))
    publisher.take()
    publisher.republish()
    republished = publisher.take()
    assert [m.topic for m in republished] == [NICK_CONFIG, *HOUSEHOLD_CONFIGS, "presence/attributes",
                                              "presence/status"]
    assert republished[-1].payload == "online"


def test_a_person_removed_from_the_config_is_removed_with_their_retained_state():
    publisher = ListPublisher(household("Nick", "Susan"))
    publisher.publish(snapshot("nick", "susan"), State())
    publisher.take()
    publisher.reconfigure(household("Nick"))
    queued = publisher.take()
    removals = [m for m in queued if m.payload == ""]
    assert [m.topic for m in removals] == [SUSAN_CONFIG, *SUSAN_STATES]
    assert all(m.retain for m in removals)  # an empty retained message is what removes a retained one
    assert queued.index(removals[-1]) < [m.topic for m in queued].index(NICK_CONFIG)
    assert SUSAN_CONFIG not in by_topic(m for m in queued if m.payload)
    publisher.republish()
    assert not {SUSAN_CONFIG, *SUSAN_STATES} & set(by_topic(publisher.take()))


def test_a_person_added_back_gets_their_state_at_the_next_decision_though_it_did_not_change():
    publisher = ListPublisher(household("Nick", "Susan"))
    publisher.publish(snapshot("susan"), State())
    publisher.reconfigure(household("Nick"))
    publisher.publish(snapshot(keys=("nick",)), State())
    publisher.take()
    publisher.reconfigure(household("Nick", "Susan"))
    assert by_topic(publisher.take())[SUSAN_CONFIG]
    publisher.publish(snapshot("susan"), State())
    assert set(by_topic(publisher.take())) == {*SUSAN_STATES, "presence/count_home", "presence/anyone_home"}


def test_a_reconfigure_that_keeps_the_people_removes_nothing_and_queues_the_configs_again():
    publisher = ListPublisher(household("Nick", "Susan"))
    publisher.publish(snapshot("nick"), State())
    publisher.take()
    publisher.reconfigure(household("Nick", "Susan"))
    queued = publisher.take()
    assert [m.topic for m in queued] == [NICK_CONFIG, SUSAN_CONFIG, *HOUSEHOLD_CONFIGS, "presence/attributes"]
    assert all(m.payload for m in queued)
    publisher.publish(snapshot("nick"), State())
    assert publisher.take() == []


def test_the_base_has_no_thread_no_connection_and_nothing_to_wait_for():
    publisher = ListPublisher(household("Nick"))
    assert publisher.start() is publisher
    assert publisher.alive() and publisher.problem() is None
    publisher.take()
    publisher.settle(5.0)
    publisher.close()
    assert publisher.take() == []


def printed(publisher):
    return publisher.stream.getvalue().splitlines()


def test_the_dry_run_prints_the_configs_then_online_as_it_starts():
    lines = printed(PrintingPublisher(household("Nick"), io.StringIO()))
    assert [line.split(" ")[1] for line in lines] == [NICK_CONFIG, *HOUSEHOLD_CONFIGS, "presence/attributes",
                                                      "presence/status"]
    assert lines[0].startswith(f"mqtt {NICK_CONFIG} {{") and '"source_type":"router"' in lines[0]
    assert lines[-1] == "mqtt presence/status online"


def test_the_dry_run_prints_each_change_as_topic_and_payload_and_offline_at_the_close():
    printer = PrintingPublisher(household("Nick", "Susan"), io.StringIO())
    start = len(printed(printer))
    printer.publish(snapshot("nick"), State())
    printer.publish(snapshot("nick"), State())
    printer.close()
    lines = printed(printer)[start:]
    assert [line for line in lines if "/attributes " not in line] == [
        "mqtt presence/person/nick/state home", "mqtt presence/person/susan/state not_home",
        "mqtt presence/count_home 1", "mqtt presence/anyone_home ON", "mqtt presence/status offline"]


def test_the_dry_run_says_an_empty_payload_removes_what_the_topic_holds():
    printer = PrintingPublisher(household("Nick", "Susan"), io.StringIO())
    start = len(printed(printer))
    printer.reconfigure(household("Nick"))
    assert printed(printer)[start:start + 3] == [f"mqtt {SUSAN_CONFIG} (empty: removes it)",
                                                 "mqtt presence/person/susan/state (empty: removes it)",
                                                 "mqtt presence/person/susan/attributes (empty: removes it)"]


def test_the_dry_run_marks_a_message_that_is_not_retained():
    printer = PrintingPublisher(household("Nick"), io.StringIO())
    printer._queue([Message("presence/ping", "1", retain=False), Message("presence/kept", "2")])
    assert printed(printer)[-2:] == ["mqtt presence/ping 1 (not retained)", "mqtt presence/kept 2"]


def test_the_dry_run_flushes_after_each_batch_so_a_pipe_sees_it_at_once():
    stream = FlushCounting()
    printer = PrintingPublisher(household("Nick"), stream)
    printer.publish(snapshot("nick", keys=("nick",)), State())
    assert stream.flushed_at and stream.flushed_at[-1] == len(stream.getvalue())
