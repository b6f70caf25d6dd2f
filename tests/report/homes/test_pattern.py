"""The study's glob, each home's name, `{home}`, and the batches with the wildcard targets that read them."""

import pytest

from presence.report.homes.pattern import (Home, HomePattern, PatternError, Target, batches, check_template,
                                           electricity_of, is_plain)

POWER = "study.{home}.electricity.power"


@pytest.mark.parametrize("glob, path, name", [
    ("study.*", "study.h17", "h17"),
    ("study.h*", "study.h17", "h17"),
    ("study.*.*", "study.berlin.h3", "berlin.h3"),
    ("{a,b}.x.*", "a.x.h1", "a.h1"),
    ("study.*.house", "study.h9.house", "h9"),
])
def test_a_home_is_named_by_what_the_wildcard_nodes_matched(glob, path, name):
    assert HomePattern(glob).name(path) == name


@pytest.mark.parametrize("glob, said", [
    ("study.h17", "has no wildcard, so it names one home"),
    ("study.*.presence", "names the part of the prefix before .presence: 'study.*'"),
    ("study.(x)", "is not a Graphite glob"),
    ("study..*", "is not a Graphite glob"),
    ("", "is not a Graphite glob"),
])
def test_a_glob_that_cannot_name_homes_says_why(glob, said):
    with pytest.raises(PatternError, match="--homes") as raised:
        HomePattern(glob)
    assert said in str(raised.value)


def test_home_in_a_metric_stands_for_the_home_name():
    home = Home("study.berlin.h3", "berlin.h3")
    assert electricity_of(POWER, home) == "study.berlin.h3.electricity.power"
    assert electricity_of("sumSeries(m.{home}.l1,m.{home}.l2)", home) == "sumSeries(m.berlin.h3.l1,m.berlin.h3.l2)"


def test_a_metric_without_home_is_refused_naming_the_option():
    assert check_template(POWER, "--power") == POWER
    with pytest.raises(PatternError) as raised:
        check_template("study.h1.electricity.power", "report.power")
    assert "with --homes, report.power names each home's electricity with {home}" in str(raised.value)
    assert "'study.h1.electricity.power' has no {home}" in str(raised.value)


def test_plain_metrics_and_expressions():
    assert is_plain(POWER) and is_plain("{home}.power")
    assert not is_plain("scale(study.{home}.kw,1000)") and not is_plain("study.{home}.power.*")


def test_the_look_up_asks_for_presence_and_a_plain_electricity_metric():
    pattern = HomePattern("study.*.*")
    assert pattern.queries(POWER) == {"anyone_home": "study.*.*.presence.anyone_home",
                                      "is_home": "study.*.*.presence.*.is_home",
                                      "electricity": "study.*.*.electricity.power"}
    assert "electricity" not in pattern.queries("scale(study.{home}.kw,1000)")


def test_homes_come_from_the_look_up_with_their_own_people():
    found = {"anyone_home": ["study.h1.presence.anyone_home", "study.h2.presence.anyone_home",
                             "study.h2.extra.presence.anyone_home"],
             "is_home": ["study.h2.presence.bob.is_home", "study.h2.presence.ann.is_home",
                         "study.h3.presence.cy.is_home", "study.odd%.presence.x.is_home"],
             "electricity": ["study.h1.electricity.power", "study.h4.electricity.power", "other.h5.power"]}
    homes, odd = HomePattern("study.*").homes(found, POWER)
    assert homes == [Home("study.h1", "h1", (), True), Home("study.h2", "h2", ("ann", "bob"), True),
                     Home("study.h3", "h3", ("cy",), False), Home("study.h4", "h4", (), False)]
    assert list(odd) == ["study.odd%"] and "other than [A-Za-z0-9_-]" in odd["study.odd%"]


def test_a_batch_is_read_by_one_brace_target_a_kind():
    homes = [Home("study.h1", "h1", ("ann",)), Home("study.h2", "h2", ("ann", "bob"))]
    anyone, people, electricity = HomePattern("study.*").requests(homes, POWER, is_counter=False)
    assert [t.text() for t in anyone.targets] == ["study.{h1,h2}.presence.anyone_home"]
    assert [t.text() for t in people.targets] == ["study.{h1,h2}.presence.{ann,bob}.is_home"]
    assert [t.text() for t in electricity.targets] == ["study.{h1,h2}.electricity.power"]
    assert people.names == {"study.h1.presence.ann.is_home": ("study.h1", "person:ann"),
                            "study.h2.presence.ann.is_home": ("study.h2", "person:ann"),
                            "study.h2.presence.bob.is_home": ("study.h2", "person:bob")}
    assert electricity.names == {"study.h1.electricity.power": ("study.h1", "electricity"),
                                 "study.h2.electricity.power": ("study.h2", "electricity")}
    assert not electricity.last


def test_homes_that_differ_in_more_than_one_node_get_one_target_a_group():
    homes = [Home("study.berlin.h1", "berlin.h1"), Home("study.berlin.h2", "berlin.h2"),
             Home("study.paris.h1", "paris.h1")]
    anyone, electricity = HomePattern("study.*.*").requests(homes, POWER, is_counter=True)
    assert [t.text() for t in anyone.targets] == ["study.berlin.{h1,h2}.presence.anyone_home",
                                                  "study.paris.h1.presence.anyone_home"]
    assert [t.text() for t in electricity.targets] == ["study.berlin.{h1,h2}.electricity.power",
                                                       "study.paris.h1.electricity.power"]
    assert electricity.last


def test_an_expression_is_asked_for_each_home_under_its_path():
    homes = [Home("study.h1", "h1"), Home("study.h2", "h2")]
    electricity = HomePattern("study.*").requests(homes, "scale(study.{home}.kw,1000)", False)[-1]
    assert [t.text() for t in electricity.targets] == ["alias(scale(study.h1.kw,1000),'study.h1')",
                                                       "alias(scale(study.h2.kw,1000),'study.h2')"]
    assert electricity.names == {"study.h1": ("study.h1", "electricity"), "study.h2": ("study.h2", "electricity")}


def test_a_consolidated_target_is_named_again_as_its_metric():
    summarize = "summarize({},'60s','avg')"
    assert Target("study.{a,b}.presence.anyone_home", nodes=4).text(summarize) == \
        "aliasByNode(summarize(study.{a,b}.presence.anyone_home,'60s','avg'),0,1,2,3)"
    assert Target("scale(x.kw,1000)", alias="study.h1").text(summarize) == \
        "alias(summarize(scale(x.kw,1000),'60s','avg'),'study.h1')"


def test_batches_are_bounded_by_points_and_by_homes():
    homes = [Home(f"s.h{i}", f"h{i}", ("a",) * (i % 3)) for i in range(10)]
    # Each home costs (people + 2) series of 100 points: 200, 300, 400, 200, ...
    found = batches(homes, 100, 700, 100)
    assert [[h.name for h in batch] for batch in found] == [["h0", "h1"], ["h2", "h3"], ["h4", "h5"],
                                                            ["h6", "h7"], ["h8", "h9"]]
    assert [len(batch) for batch in batches(homes, 100, 10_000, 4)] == [4, 4, 2]
    # A home with more points than a batch holds is a batch of its own.
    assert [len(batch) for batch in batches(homes[:3], 1000, 500, 100)] == [1, 1, 1]
    assert batches([], 100, 700, 100) == []


def test_a_home_found_by_its_meter_alone_is_a_home_without_presence():
    template = "meters.{home}.{home}.watts"
    found = {"electricity": ["meters.berlin.h3.berlin.h3.watts", "meters.berlin.h3.paris.h1.watts"]}
    homes, _ = HomePattern("study.*.*").homes(found, template)
    assert homes == [Home("study.berlin.h3", "berlin.h3", (), False)]
