"""A small tmpfs mounted for one test, so that a disk fills for real (mounting needs root)."""

import contextlib
import os
import shutil
import subprocess


def small_fs_unavailable_reason():
    if os.geteuid() != 0:
        return "filling a real disk needs root, to mount a small tmpfs"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "mount and umount are needed to fill a real disk (util-linux)"
    return None


@contextlib.contextmanager
def small_tmpfs(folder, size="64k", options=""):
    """Mount a tmpfs of `size` on `folder` (made if missing) for the `with` block; `options` adds mount options
    (e.g. `nr_inodes=8`)."""
    os.makedirs(folder, exist_ok=True)
    extra = f",{options}" if options else ""
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700{extra}", "tmpfs", str(folder)], check=True)
    try:
        yield str(folder)
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


def fill(folder, leave=0):
    """Fill the filesystem of `folder` with one file, leaving about `leave` bytes free; return its path."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while _free(folder) > leave:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return path


def _free(folder):
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


@contextlib.contextmanager
def read_only(folder):
    """Bind-mount `folder` read-only onto itself for the `with` block (EROFS for every write in it)."""
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield str(folder)
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


def use_up_inodes(folder):
    """Make empty files in `folder` until the filesystem has no free inode; return their paths."""
    made = []
    try:
        while True:
            path = os.path.join(folder, f"inode-{len(made)}")
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            made.append(path)
    except OSError:
        return made
