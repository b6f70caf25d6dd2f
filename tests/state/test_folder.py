"""The state file's folder before the daemon starts: which paths are refused and why, the folder made when
missing, the lock that keeps a second daemon out, and the temp files a killed save left behind."""

import errno
import logging
import os
import tempfile

import pytest

from presence.state.folder import (StateDirError, StateLock, StateLocked, check_state_path,
                                   remove_stale_temp_files)


def refusal(path, where="--state", config_path=None):
    with pytest.raises(StateDirError) as caught:
        check_state_path(str(path), where, config_path)
    return str(caught.value)


def test_a_new_state_file_in_a_missing_folder_is_fine_and_the_folder_is_made(tmp_path):
    path = tmp_path / "var" / "lib" / "presence" / "state.json"
    assert check_state_path(str(path), "state_file") is None
    assert path.parent.is_dir() and not path.exists()


@pytest.mark.parametrize("content", [b"", b'{"version": 1}', b'  \n{"version": 1'])
def test_a_file_not_named_json_is_taken_when_it_is_missing_empty_or_starts_like_json(tmp_path, content):
    assert check_state_path(str(tmp_path / "presence.state"), "--state") is None
    (tmp_path / "presence.state").write_bytes(content)
    assert check_state_path(str(tmp_path / "presence.state"), "--state") is None


def test_a_folder_is_refused_with_a_file_in_it_to_name_instead(tmp_path):
    assert refusal(tmp_path, "state_file") == (f"state_file: {tmp_path} is a directory; name a file in it, e.g. "
                                               f"{tmp_path / 'state.json'}")


def test_something_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "state.json"
    os.mkfifo(fifo)
    assert refusal(fifo) == f"--state: {fifo} exists and is not a regular file"
    dangling = tmp_path / "dangling.json"
    os.symlink(tmp_path / "nowhere.json", dangling)
    assert refusal(dangling) == f"--state: {dangling} exists and is not a regular file"


def test_the_config_file_itself_is_refused_also_through_another_name(tmp_path):
    config = tmp_path / "people.json"
    config.write_text('{"network": {}}')
    os.symlink(config, tmp_path / "state.json")
    message = f"{tmp_path / 'state.json'} is the configuration file; the state needs a file of its own"
    assert refusal(tmp_path / "state.json", config_path=str(config)) == f"--state: {message}"
    assert check_state_path(str(tmp_path / "other.json"), "--state", str(config)) is None


def test_a_file_that_never_was_a_state_file_is_not_taken_over(tmp_path):
    # A damaged state file would be set aside at start; a file of someone else's must not be.
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping: milk, eggs\n")
    assert refusal(notes, "state_file") == (f"state_file: {notes} is not a state file written by presence (not "
                                            "JSON); name a new file, e.g. state.json")
    assert notes.read_text() == "shopping: milk, eggs\n"


def test_a_damaged_file_named_json_passes_so_it_can_be_set_aside_later(tmp_path):
    damaged = tmp_path / "state.json"
    damaged.write_bytes(b"\x00\x00garbage")
    assert check_state_path(str(damaged), "--state") is None


def test_a_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "lib").write_text("")
    assert refusal(tmp_path / "lib" / "state.json") == (f"--state: {tmp_path / 'lib'} is not a folder; choose "
                                                        "another state file")


def failing_temp_file(monkeypatch, code):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "TemporaryFile", fail)


def test_a_folder_this_user_cannot_write_is_refused_with_what_to_do(tmp_path, monkeypatch):
    # Tests run as root here, for whom a mode of 0o500 does not keep anything out.
    failing_temp_file(monkeypatch, errno.EACCES)
    assert refusal(tmp_path / "state.json", "state_file") == (
        f"state_file: cannot write in {tmp_path}: Permission denied; make it writable for this user, or choose "
        "another state file")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EIO])
def test_a_full_or_read_only_disk_only_warns_and_the_daemon_starts(tmp_path, monkeypatch, caplog, code):
    failing_temp_file(monkeypatch, code)
    assert check_state_path(str(tmp_path / "state.json"), "--state") is None
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"--state: cannot write in {tmp_path} now ({os.strerror(code)}); "
                                          "starting anyway")


def test_a_passing_error_for_a_folder_that_could_not_be_made_is_still_refused(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "makedirs", no_space)
    assert refusal(tmp_path / "new" / "state.json") == (
        f"--state: cannot write in {tmp_path / 'new'}: No space left on device; make it writable for this user, "
        "or choose another state file")


def test_the_lock_writes_our_pid_and_a_second_daemon_is_told_whose_it_is(tmp_path):
    path = str(tmp_path / "state.json")
    lock = StateLock(path).acquire()
    try:
        assert lock.path == path + ".lock" and open(lock.path).read() == f"{os.getpid()}\n"
        with pytest.raises(StateLocked) as caught:
            StateLock(path).acquire()
        assert str(caught.value) == (f"another presence daemon (pid {os.getpid()}) is using {path}; stop it first, "
                                     "or give this one a --state in another folder")
        assert isinstance(caught.value, StateDirError)
    finally:
        lock.release()


def test_the_lock_is_on_the_folder_so_another_state_file_beside_it_is_locked_too(tmp_path):
    lock = StateLock(str(tmp_path / "state.json")).acquire()
    try:
        with pytest.raises(StateLocked):
            StateLock(str(tmp_path / "other.json")).acquire()
        os.mkdir(tmp_path / "elsewhere")
        StateLock(str(tmp_path / "elsewhere" / "state.json")).acquire().release()
    finally:
        lock.release()


def test_a_released_lock_can_be_taken_again_and_releasing_twice_is_harmless(tmp_path):
    path = str(tmp_path / "state.json")
    first = StateLock(path).acquire()
    first.release()
    first.release()
    second = StateLock(path).acquire()
    second.release()


def test_a_holder_whose_pid_file_is_gone_is_unknown(tmp_path):
    path = str(tmp_path / "state.json")
    lock = StateLock(path).acquire()
    try:
        os.unlink(lock.path)
        with pytest.raises(StateLocked, match=r"\(pid unknown\)"):
            StateLock(path).acquire()
        open(lock.path, "w").close()
        with pytest.raises(StateLocked, match=r"\(pid unknown\)"):
            StateLock(path).acquire()
    finally:
        lock.release()


def test_a_lock_in_a_missing_folder_says_it_cannot_open_it(tmp_path):
    folder = tmp_path / "missing"
    with pytest.raises(StateDirError) as caught:
        StateLock(str(folder / "state.json")).acquire()
    assert str(caught.value) == f"cannot open {folder} to lock it: No such file or directory"
    assert not isinstance(caught.value, StateLocked)


def test_a_pid_that_could_not_be_written_is_written_when_heal_runs_after_writes_work_again(tmp_path):
    path = str(tmp_path / "state.json")
    os.mkdir(path + ".lock")  # stands for a disk on which the pid file cannot be written
    lock = StateLock(path).acquire()
    try:
        assert os.path.isdir(lock.path)
        with pytest.raises(StateLocked):
            StateLock(path).acquire()
        os.rmdir(lock.path)
        lock.heal()
        assert open(lock.path).read() == f"{os.getpid()}\n"
    finally:
        lock.release()


def test_heal_before_acquire_or_after_release_does_nothing(tmp_path):
    lock = StateLock(str(tmp_path / "state.json"))
    lock.heal()
    assert not os.path.exists(lock.path)
    lock.acquire().release()
    os.unlink(lock.path)
    lock.heal()
    assert not os.path.exists(lock.path)


def test_only_the_temp_files_of_a_killed_save_are_removed(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    stale = [tmp_path / ".state-abcd1234.tmp", tmp_path / ".state-x_9y_8z7.tmp"]
    kept = [tmp_path / "state.json", tmp_path / ".state-short.tmp", tmp_path / ".state-ABCD1234.tmp",
            tmp_path / "state-abcd1234.tmp", tmp_path / ".state-abcd1234.tmp.bak"]
    for path in stale + kept:
        path.write_text("{}")
    os.mkdir(tmp_path / ".state-folder00.tmp")
    os.symlink(tmp_path / "state.json", tmp_path / ".state-symlink0.tmp")
    assert remove_stale_temp_files(str(tmp_path / "state.json")) == 2
    assert not any(path.exists() for path in stale) and all(path.exists() for path in kept)
    assert (tmp_path / ".state-folder00.tmp").is_dir() and os.path.islink(tmp_path / ".state-symlink0.tmp")
    assert f"Removed 2 temp file(s) left by an interrupted save in {tmp_path}" in caplog.text


def test_no_temp_files_remove_nothing_quietly_and_a_missing_folder_only_warns(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    assert remove_stale_temp_files(str(tmp_path / "state.json")) == 0
    assert caplog.records == []
    missing = tmp_path / "missing"
    assert remove_stale_temp_files(str(missing / "state.json")) == 0
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.getMessage() == (
        f"Cannot look for stale temp files in {missing}: No such file or directory")
