"""Each bin on the household's clock: DST days, the weekday, the minute of the week."""

from datetime import datetime
from zoneinfo import ZoneInfo

from presence.report.calendar import local_clock
from presence.report.series import Grid

BERLIN = ZoneInfo("Europe/Berlin")


def test_two_oclock_comes_twice_when_summer_time_ends_and_not_at_all_when_it_starts():
    start = int(datetime(2026, 10, 25, tzinfo=BERLIN).timestamp())
    clock = local_clock(Grid(start, 3600, 25), BERLIN)
    assert clock.hour.tolist() == [0, 1, 2, 2] + list(range(3, 24))
    assert clock.weekend.all() and set(clock.weekday.tolist()) == {6}  # a Sunday
    assert len(set(clock.day.tolist())) == 1
    spring = int(datetime(2026, 3, 29, tzinfo=BERLIN).timestamp())
    assert local_clock(Grid(spring, 3600, 23), BERLIN).hour.tolist() == [0, 1] + list(range(3, 24))


def test_minute_of_the_week_starts_on_monday_at_midnight_local():
    monday = int(datetime(2026, 11, 23, tzinfo=BERLIN).timestamp())
    clock = local_clock(Grid(monday - 120, 60, 10080 + 4), BERLIN)
    assert clock.minute_of_week[:4].tolist() == [10078, 10079, 0, 1]
    assert clock.weekday[2] == 0 and clock.weekday[1] == 6
    assert clock.minute_of_week[-1] == 1 and clock.day[-1] - clock.day[2] == 7


def test_a_zone_half_an_hour_off_the_hour_keeps_its_offset():
    kolkata = ZoneInfo("Asia/Kolkata")
    start = int(datetime(2026, 1, 1, 0, 0, tzinfo=kolkata).timestamp())
    clock = local_clock(Grid(start, 1800, 4), kolkata)
    assert clock.hour.tolist() == [0, 0, 1, 1] and clock.minute_of_week[1] - clock.minute_of_week[0] == 30
