"""Run a function in a thread that has entered a network namespace (setns affects only that thread)."""

import ctypes
import os
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def call_in_netns(ns, function, *args, **kwargs):
    """Return function(*args, **kwargs) run inside network namespace `ns` (made by `ip netns add`)."""
    outcome = {}

    def target():
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error
        finally:
            os.close(fd)

    thread = threading.Thread(target=target, name=f"in-{ns}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
