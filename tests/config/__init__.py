"""Helpers of the report section's tests (tests/config/test_tariff.py, test_sections_report_price.py)."""

import pytest

from presence.config.load import parse_config
from presence.config.model import ConfigError
from tests.conftest import make_config

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
DAY_AND_NIGHT = [{"from": "07:00", "until": "22:00", "price": 0.38}, {"from": "22:00", "until": "07:00", "price": 0.21}]


def report(**section):
    return parse_config(make_config(report=section)).report


def problems(**section):
    with pytest.raises(ConfigError) as caught:
        parse_config(make_config(report=section))
    return caught.value.problems
