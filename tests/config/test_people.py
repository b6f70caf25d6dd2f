"""People's names and the metric keys made of them (or set with `key`)."""

import pytest

from presence.config.load import load_config, parse_config
from presence.config.people import person_key
from tests.conftest import make_config
from tests.config.test_load import problems


@pytest.mark.parametrize("name, key", [("Nick", "nick"), ("Zoë Smith", "zoe_smith"),
                                       ("a.b c\nd", "a_b_c_d"), ("  Mo-2 ", "mo-2")])
def test_person_names_become_safe_metric_keys(name, key):
    assert person_key(name) == key


def test_name_that_leaves_no_key_is_rejected():
    raw = make_config()
    raw["people"][0]["name"] = "..."
    assert any(p.startswith("people[0].name: '...' leaves no letters") for p in problems(raw))


def test_two_names_with_the_same_key_are_rejected():
    raw = make_config()
    raw["people"][5]["name"] = "nick"
    assert any(p.startswith("people[5].name: 'nick' gives the metric key 'nick', as people[0].name")
               for p in problems(raw))


def test_reserved_key_is_rejected():
    raw = make_config()
    raw["people"][5]["name"] = "WiFi"
    assert any(p.startswith("people[5].name: 'WiFi' gives the metric key 'wifi', which is reserved")
               for p in problems(raw))



# Names in other scripts, and the `key` option.

def test_cyrillic_and_greek_names_are_transliterated():
    for name, key in [("Ник", "nik"), ("Σοφία", "sofia"), ("ΣΟΦΊΑ", "sofia"), ("Андрей Щукин", "andrey_shchukin"),
                      ("Юлія", "yuliya"), ("Ђорђе", "djordje"), ("Θεόδωρος", "theodoros"), ("李雷", "")]:
        assert person_key(name) == key, name
    # A key once derived never changes: a name with Latin letters keeps its key without the others.
    assert person_key("Nick Ник") == "nick"


def test_non_latin_names_parse(tmp_path):
    path = tmp_path / "people.yaml"
    path.write_text("network: {cidrs: [198.51.100.0/24]}\npeople:\n  - {name: Ник, macs: ['02:00:00:00:01:01']}\n"
                    "  - {name: Σοφία}\n  - {name: 李雷, key: li_lei}\n", encoding="utf-8")
    config = load_config(str(path))
    assert [(p.name, p.key) for p in config.people] == [("Ник", "nik"), ("Σοφία", "sofia"), ("李雷", "li_lei")]


def test_name_without_key_in_another_script_asks_for_one():
    raw = make_config()
    raw["people"][3]["name"] = "李雷"
    assert any(p.startswith("people[3].name: '李雷' leaves no letters or digits for the metric key: set people[3].key")
               for p in problems(raw))


@pytest.mark.parametrize("key, message", [
    ("Li Lei", "people[3].key: 'Li Lei' is not a metric key made of a-z, 0-9, _ and -"),
    ("", "people[3].key: must be a metric key made of a-z, 0-9, _ and -, not str ''"),
    ("wifi", "people[3].key: 'wifi' is a reserved metric key"),
    ("nick", "people[3].key: 'nick' is already the metric key of people[0].name"),
])
def test_key_is_checked_like_a_derived_one(key, message):
    raw = make_config()
    raw["people"][3]["key"] = key
    assert message in problems(raw)


def test_key_overrides_the_name_and_a_later_name_cannot_take_it():
    raw = make_config()
    raw["people"][0]["key"] = "dad"
    raw["people"][5]["name"] = "Dad"
    assert "people[5].name: 'Dad' gives the metric key 'dad', as people[0].key does" in problems(raw)
    del raw["people"][5]
    assert parse_config(raw).people[0].key == "dad"
    raw["people"][1] = {"key": "susan"}
    assert "people[1].name: must be a name, not empty" in problems(raw)
