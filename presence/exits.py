"""The program's exit statuses, in one table: those of sysexits.h where one fits."""

EX_OK = 0
# A general failure: a check failed, an endpoint or the LAN could not be read.
EX_FAILURE = 1
# A command line that cannot be done: an unknown command or option, `discover --yaml --watch`, an unreadable time.
EX_USAGE = 64
# Another daemon holds the state file: try again once it stopped.
EX_TEMPFAIL = 75
EX_CONFIG = 78
