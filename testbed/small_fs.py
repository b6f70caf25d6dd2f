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
def small_tmpfs(folder, size="64k"):
    """Mount a tmpfs of `size` on `folder` (made if missing) for the `with` block."""
    os.makedirs(folder, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)], check=True)
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
