"""`report.price`, `report.currency` and `report.tariff` (issue 26): what they read into, and every mistake named."""

import pytest

from presence.config.load import load_config, parse_config
from presence.config.model import ConfigError, TariffPeriod
from tests.config import DAY_AND_NIGHT, report, problems


def test_no_price_is_the_default_and_a_flat_price_reads_as_a_float_with_its_currency():
    assert (report().price, report().currency, report().tariff) == (None, None, ())
    section = report(price=1, currency="€")
    assert (section.price, section.currency, section.tariff) == (1.0, "€", ())
    assert isinstance(section.price, float)
    assert report(price=0.2841, currency="kr").price == 0.2841


@pytest.mark.parametrize("section, expected", [
    ({"price": 0}, "report.price: must be more than 0"),
    ({"price": -0.3}, "report.price: must be at least 0"),
    ({"price": "0.30"}, "report.price: must be a number, not str '0.30'"),
    ({"price": float("nan")}, "report.price: must be a number"),
    ({"price": float("inf")}, "report.price: must be at most 1e+06"),
    ({"price": True}, "report.price: must be a number, not bool True"),
    ({"currency": ""}, "report.currency: must be the currency shown after an amount"),
    ({"currency": "euros and cents"}, "report.currency: must be the currency shown after an amount, e.g. EUR, € or "
                                      "kr: 1 to 8 printable characters, not str 'euros and cents'"),
    ({"currency": "EUR\n"}, "report.currency: "),
    ({"currency": "\x1b[2J"}, "report.currency: "),
    ({"currency": " EUR"}, "report.currency: "),
    ({"currency": 978}, "report.currency: must be the currency shown after an amount, e.g. EUR, € or kr: 1 to 8 "
                        "printable characters, not int 978"),
    ({"tariff": {"from": "07:00"}}, "report.tariff: must be a list, not dict"),
    ({"tariff": []}, "report.tariff: must list 1 to 168 periods (one an hour of the week), not 0"),
    ({"tariff": [DAY_AND_NIGHT[0]] * 169}, "report.tariff: must list 1 to 168 periods"),
    ({"tariff": ["07:00-22:00"]}, "report.tariff[0]: must be a mapping with from, until and price, not str"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], to="22:00")]}, "report.tariff[0].to: unknown key (expected one of: days, "
                                                       "from, price, until)"),
    ({"tariff": [{"until": "22:00", "price": 0.3}]}, "report.tariff[0].from: missing: the time of day the period "
                                                     "starts, e.g. '07:00'"),
    ({"tariff": [{"from": "07:00", "price": 0.3}]}, "report.tariff[0].until: missing: the time of day the period ends"),
    ({"tariff": [{"from": "07:00", "until": "22:00"}]}, "report.tariff[0].price: missing: what one kWh costs"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], price=-1)]}, "report.tariff[0].price: must be at least 0"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], price="cheap")]}, "report.tariff[0].price: must be a number, not str 'cheap'"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], price=2e6)]}, "report.tariff[0].price: must be at most 1e+06"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], until="24:01")]}, "report.tariff[0].until: must be a time of day as 'HH:MM', "
                                                          "00:00 to 24:00, not str '24:01'"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], until="7:60")]}, "report.tariff[0].until: must be a time of day"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], until="07:00:00")]}, "report.tariff[0].until: must be a time of day"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], until="7pm")]}, "report.tariff[0].until: must be a time of day"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], **{"from": "24:00"})]}, "report.tariff[0].from: must be a time of day as "
                                                                "'HH:MM', 00:00 to 23:59, not str '24:00'"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], until="07:00")]}, "report.tariff[0].until: is the same time as from"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], days="sat")]}, "report.tariff[0].days: must be a list of days such as "
                                                       "[sat, sun] (left out: every day), not str 'sat'"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], days=[])]}, "report.tariff[0].days: must be a list of days"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], days=["mon", "monday"])]}, "report.tariff[0].days[1]: must be one of mon, "
                                                                   "tue, wed, thu, fri, sat, sun, not str 'monday'"),
    ({"tariff": [dict(DAY_AND_NIGHT[0], days=[1])]}, "report.tariff[0].days[0]: must be one of mon"),
])
def test_each_mistake_names_its_key(section, expected):
    found = problems(**section)
    assert any(problem.startswith(expected) for problem in found), found


def test_a_bad_period_is_not_also_called_a_gap_and_a_bad_price_does_not_call_the_tariff_incomplete():
    assert problems(tariff=[DAY_AND_NIGHT[0], dict(DAY_AND_NIGHT[1], price="x")]) == [
        "report.tariff[1].price: must be a number, not str 'x'"]
    partial = [{"from": "07:00", "until": "22:00", "price": 0.38}]
    assert problems(tariff=partial, price=-1) == ["report.price: must be at least 0, not -1"]


def test_every_problem_of_one_section_is_listed_at_once():
    found = problems(price=0, currency="much too long", tariff=[{"from": "25:00", "until": "07:00", "price": 1}])
    assert [problem.split(":")[0] for problem in found] == ["report.price", "report.currency", "report.tariff[0].from"]


def test_a_time_yaml_reads_as_a_number_says_to_quote_it(tmp_path):
    path = tmp_path / "people.yaml"
    path.write_text("network: {cidrs: [198.51.100.0/24]}\n"
                    "report:\n  price: 0.3\n  tariff:\n    - {from: 07:00, until: 22:00, price: 0.4}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert caught.value.problems == [
        "report.tariff[0].until: must be a time of day as 'HH:MM', 00:00 to 24:00, not int 1320 (YAML reads 22:00 "
        "unquoted as that number: write '22:00')"]
    path.write_text(path.read_text().replace("until: 22:00", "until: '22:00'"))
    assert load_config(str(path)).report.tariff[0].end == 1320
