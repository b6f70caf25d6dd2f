"""The command line's grammar: each command's options and defaults, and a usage error's exit status and text."""

import pytest

from presence import exits
from presence.arguments import build_parser, join_dash_values
from presence.config import defaults


def parse(*argv):
    return build_parser().parse_args(join_dash_values(list(argv)))


def usage_error(capsys, *argv):
    """The exit status and stderr of a command line the parser refuses."""
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    return caught.value.code, captured.err


def test_no_arguments_mean_no_command_the_default_log_level_and_paths_left_to_the_config():
    args = parse()
    assert args.command is None and args.config is None and args.state is None
    assert args.log_level == defaults.DEFAULT_LOG_LEVEL == "INFO"


def test_the_global_options_come_before_the_command_and_the_log_level_is_case_insensitive():
    args = parse("--config", "/etc/presence/people.yaml", "--state", "/var/lib/presence/state.json",
                 "--log-level", "debug", "once")
    assert (args.config, args.state, args.log_level, args.command) == (
        "/etc/presence/people.yaml", "/var/lib/presence/state.json", "DEBUG", "once")


@pytest.mark.parametrize("command", ["run", "once"])
def test_run_and_once_take_dry_run_which_is_off_unless_given(command):
    assert parse(command).dry_run is False
    assert parse(command, "--dry-run").dry_run is True


def test_discover_defaults_to_a_table_of_one_sweep_and_takes_its_flags():
    args = parse("discover")
    assert (args.json, args.yaml, args.watch, args.homeassistant) == (False, False, False, False)
    args = parse("discover", "--json", "--watch", "--homeassistant")
    assert (args.json, args.yaml, args.watch, args.homeassistant) == (True, False, True, True)
    assert parse("discover", "--yaml").yaml is True


def test_suggest_takes_a_threshold_from_0_to_1_defaulting_to_the_configured_one():
    assert parse("suggest").threshold == defaults.SUGGEST_THRESHOLD
    assert parse("suggest", "--threshold", "0.65").threshold == 0.65
    assert parse("suggest", "--threshold", "0").threshold == 0.0
    assert parse("suggest", "--threshold", "1").threshold == 1.0
    args = parse("suggest", "--yaml")
    assert args.yaml is True and args.json is False


@pytest.mark.parametrize("threshold", ["1.5", "-0.1", "nan", "most"])
def test_a_threshold_outside_0_to_1_or_not_a_number_is_a_usage_error_that_shows_it(capsys, threshold):
    code, err = usage_error(capsys, "suggest", f"--threshold={threshold}")
    assert code == exits.EX_USAGE
    assert f"suggest: error: argument --threshold: {threshold!r} is not a number from 0 to 1" in err


def test_stats_and_check_parse_with_their_own_options_only():
    assert parse("stats").json is False and parse("stats", "--json").json is True
    assert parse("check").command == "check"


def test_report_defaults_to_the_last_week_until_now_with_metrics_from_the_config():
    args = parse("report")
    assert (args.from_, args.until) == (defaults.DEFAULT_REPORT_FROM, defaults.DEFAULT_REPORT_UNTIL) == ("-7d", "now")
    assert (args.render_url, args.power, args.energy_counter, args.json, args.png) == (None, None, None, False, None)


def test_report_takes_relative_times_that_start_with_a_dash_as_values():
    args = parse("report", "--from", "-30d", "--until", "-12h", "--energy-counter", "home.meter.kwh",
                 "--png", "week.png")
    assert (args.from_, args.until) == ("-30d", "-12h")
    assert (args.energy_counter, args.power, args.png) == ("home.meter.kwh", None, "week.png")


def test_join_dash_values_joins_only_from_and_until_with_a_dash_number_after_them():
    assert join_dash_values(["report", "--from", "-30d", "--until", "-1h", "--json"]) == [
        "report", "--from=-30d", "--until=-1h", "--json"]
    assert join_dash_values(["report", "--from", "2026-03-29", "--until", "--json"]) == [
        "report", "--from", "2026-03-29", "--until", "--json"]
    assert join_dash_values(["report", "--power", "-5", "--from"]) == ["report", "--power", "-5", "--from"]


@pytest.mark.parametrize("argv, message", [
    (["--colour"], "presence_to_graphite.py: error: unrecognized arguments: --colour"),
    (["--log-level", "verbose"], "argument --log-level: invalid choice: 'VERBOSE'"),
    (["check", "--json"], "error: unrecognized arguments: --json"),
    (["discover", "--json", "--yaml"], "discover: error: argument --yaml: not allowed with argument --json"),
    (["suggest", "--json", "--yaml"], "suggest: error: argument --yaml: not allowed with argument --json"),
    (["report", "--power", "home.w", "--energy-counter", "home.kwh"],
     "report: error: argument --energy-counter: not allowed with argument --power"),
])
def test_a_bad_command_line_exits_with_the_usage_status_and_says_why_under_the_usage(capsys, argv, message):
    code, err = usage_error(capsys, *argv)
    assert code == exits.EX_USAGE != 2
    assert err.startswith("usage: presence_to_graphite.py")
    assert message in err.splitlines()[-1]


def test_report_takes_a_flat_price_and_a_currency_which_default_to_the_config():
    args = parse("report")
    assert (args.price, args.currency) == (None, None)
    args = parse("report", "--price", "0.3125", "--currency", "€")
    assert (args.price, args.currency) == (0.3125, "€")
    assert parse("report", "--price=12", "--currency=kr").price == 12.0


@pytest.mark.parametrize("price", ["0", "-0.3", "nan", "inf", "1e7", "cheap", "0,30"])
def test_a_price_not_above_0_or_not_a_finite_number_is_a_usage_error_that_shows_it(capsys, price):
    code, err = usage_error(capsys, "report", f"--price={price}")
    assert code == exits.EX_USAGE
    assert (f"report: error: argument --price: {price!r} is not what a kWh costs: a number more than 0 and at "
            "most 1000000") in err


@pytest.mark.parametrize("currency", ["", " EUR", "EUR\n", "\x1b[2J", "EURO CENTS"])
def test_a_currency_that_is_blank_long_or_has_control_characters_is_a_usage_error(capsys, currency):
    code, err = usage_error(capsys, "report", f"--currency={currency}")
    assert code == exits.EX_USAGE
    assert f"report: error: argument --currency: {currency!r} is not a currency to show after amounts" in err
