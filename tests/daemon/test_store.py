"""The state on a disk that cannot be written: the lock holds, saving fails softly, and heals by itself."""

import logging
import os
import shutil

import pytest

from presence.config.load import parse_config
from presence.daemon.store import StateStore
from presence.state.file import load_state
from presence.state.folder import StateLock, StateLocked, check_state_path
from presence.state.machine import evaluate, ingest
from presence.state.model import State
from testbed.carbon import require
from testbed.small_fs import fill, read_only, small_fs_unavailable_reason, small_tmpfs, use_up_inodes
from tests.conftest import make_config
from tests.state.test_machine import NICK_PHONE, STRANGER, T0, wifi


@pytest.fixture
def config():
    return parse_config(make_config(state_save_interval=0))


def seen(state, config, at, *macs):
    state, _ = ingest(state, wifi(at, *macs), config)
    return evaluate(state, config, at)[0]


@pytest.mark.lab  # mounts a real small filesystem (root)
def test_on_a_full_disk_the_lock_holds_without_its_pid_and_everything_heals_when_space_returns(tmp_path, config,
                                                                                               caplog):
    require(small_fs_unavailable_reason())
    caplog.set_level(logging.INFO)
    with small_tmpfs(tmp_path / "disk", size="64k") as disk:
        filler = fill(disk)
        path = os.path.join(disk, "state.json")
        check_state_path(path, "--state")
        lock = StateLock(path).acquire()
        try:
            with pytest.raises(StateLocked):
                StateLock(path).acquire()
            store = StateStore(path, State(), lock)
            state = seen(State(), config, T0, NICK_PHONE)
            for second in range(3):
                assert store.save(state, config, T0 + second) is False
                state = seen(state, config, T0 + second + 1, NICK_PHONE, STRANGER)
            assert caplog.text.count("No space left on device") == 1
            assert "a restart now starts fresh" in caplog.text
            assert store.problem() == "state not saved: No space left on device (a restart now starts fresh)"
            assert not os.path.exists(path) and open(lock.path).read() == ""

            os.remove(filler)
            assert store.save(state, config, T0 + 9) is True and store.problem() is None
            assert "State saved to" in caplog.text and load_state(path, T0 + 10).devices.keys() == state.devices.keys()
            assert open(lock.path).read() == f"{os.getpid()}\n"
            with pytest.raises(StateLocked, match=f"pid {os.getpid()}"):
                StateLock(path).acquire()
        finally:
            lock.release()


@pytest.mark.lab  # mounts a real small filesystem (root)
def test_with_no_free_inode_the_lock_still_holds_and_the_state_is_written_once_one_is_free(tmp_path, config):
    require(small_fs_unavailable_reason())
    with small_tmpfs(tmp_path / "disk", size="1m", options="nr_inodes=16") as disk:
        made = use_up_inodes(disk)
        path = os.path.join(disk, "state.json")
        check_state_path(path, "--state")  # warns, does not refuse
        lock = StateLock(path).acquire()
        try:
            assert not os.path.exists(lock.path)
            with pytest.raises(StateLocked):
                StateLock(path).acquire()
            store = StateStore(path, State(), lock)
            state = seen(State(), config, T0, NICK_PHONE)
            assert store.save(state, config, T0) is False and "No space left on device" in store.problem()
            for name in made[:4]:
                os.remove(name)
            assert store.save(state, config, T0 + 5) is True and os.path.exists(path)
            assert open(lock.path).read() == f"{os.getpid()}\n"
        finally:
            lock.release()


@pytest.mark.lab  # mounts a real small filesystem (root)
def test_a_read_only_folder_keeps_the_state_file_it_has_and_is_written_once_writable(tmp_path, config, caplog):
    require(small_fs_unavailable_reason())
    folder = tmp_path / "state"
    folder.mkdir()
    path = str(folder / "state.json")
    first = seen(State(), config, T0, NICK_PHONE)
    StateStore(path, State()).save(first, config, T0)
    with read_only(folder):
        check_state_path(path, "--state")
        assert "cannot write in" in caplog.text and "starting anyway" in caplog.text
        lock = StateLock(path).acquire()
        try:
            loaded = load_state(path, T0 + 5)
            assert loaded.people["nick"].is_home
            store = StateStore(path, loaded, lock)
            later = seen(loaded, config, T0 + 6, NICK_PHONE, STRANGER)
            assert store.save(later, config, T0 + 6) is False
            assert store.problem().startswith("state not saved: Read-only file system (a restart now goes back to")
            os.system(f"mount -o remount,bind,rw {folder}")
            assert store.save(later, config, T0 + 7) is True
        finally:
            lock.release()
    assert STRANGER in load_state(path, T0 + 8).devices


def test_a_state_folder_removed_while_running_is_made_again_and_locked_again(tmp_path, config, caplog):
    caplog.set_level(logging.INFO)
    folder = tmp_path / "state"
    path = str(folder / "state.json")
    check_state_path(path, "--state")
    lock = StateLock(path).acquire()
    try:
        store = StateStore(path, State(), lock)
        state = seen(State(), config, T0, NICK_PHONE)
        assert store.save(state, config, T0)
        shutil.rmtree(folder)
        state = seen(state, config, T0 + 5, NICK_PHONE, STRANGER)
        assert store.save(state, config, T0 + 5) and os.path.exists(path)
        assert "Locked the state folder" in caplog.text and open(lock.path).read() == f"{os.getpid()}\n"
        with pytest.raises(StateLocked):
            StateLock(path).acquire()
    finally:
        lock.release()


def test_a_quota_is_passed_through_like_a_full_disk(tmp_path, config, monkeypatch, caplog):
    # This kernel's tmpfs has no quotas (CONFIG_TMPFS_QUOTA), so EDQUOT is raised where the disk would
    # raise it: by the temp file that every write of the state begins with.
    import errno
    import tempfile

    caplog.set_level(logging.INFO)

    def over_quota(*args, **kwargs):
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    path = str(tmp_path / "state.json")
    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "TemporaryFile", over_quota)
        patch.setattr(tempfile, "mkstemp", over_quota)
        check_state_path(path, "--state")
        lock = StateLock(path).acquire()
        store = StateStore(path, State(), lock)
        state = seen(State(), config, T0, NICK_PHONE)
        assert not store.save(state, config, T0)
        assert "starting anyway" in caplog.text and "Disk quota exceeded" in caplog.text
        assert store.problem().startswith("state not saved: Disk quota exceeded")
    assert store.save(state, config, T0 + 1) and load_state(path, T0 + 1).people == state.people
    assert store.problem() is None and "State saved to" in caplog.text
    lock.release()
