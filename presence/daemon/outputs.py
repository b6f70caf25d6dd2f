"""The loop's outputs, called alike: one's failure never reaches the others."""

import logging
import threading

log = logging.getLogger(__name__)


class Outputs:
    """The running outputs, in order; each call to one is isolated, and a failure is said once."""

    def __init__(self, outputs=()):
        self.running = list(outputs)
        self._failures = {}  # (output name, call) -> repr of its last failure

    def __iter__(self):
        return iter(self.running)

    def get(self, name):
        """The running output of that name, or None."""
        return next((output for output in self.running if output.name == name), None)

    def start(self):
        """Start each output."""
        for output in self.running:
            self._call(output, "start")

    def emit(self, tick):
        """Hand the tick to each output."""
        for output in self.running:
            self._call(output, "emit", tick)

    def problems(self):
        """Each output's problem line, in order."""
        found = []
        for output in self.running:
            problem = self._call(output, "problem")
            if problem:
                found.append(problem)
        return found

    def dead(self):
        """`the X output has stopped` for the first whose thread died, else None."""
        for output in self.running:
            if self._call(output, "alive") is False:
                return f"the {output.name} output has stopped"
        return None

    def reload(self, changes, config, deadline):
        """Apply a reload: an output named in `changes` is closed and replaced by its new one (None: removed),
        the others take `config` in place."""
        for output in list(self.running):
            if output.name not in changes:
                self._call(output, "reconfigure", config)
        for name, new in changes.items():
            old = self.get(name)
            if old is not None:
                self._call(old, "close", deadline)
                index = self.running.index(old)
                self.running[index:index + 1] = [new] if new is not None else []
            elif new is not None:
                self.running.append(new)
            if new is not None:
                self._call(new, "start")

    def close(self, deadline):
        """Close every output at once, each delivering what it holds until `deadline` (monotonic)."""
        closing = [threading.Thread(target=self._call, args=(output, "close", deadline), daemon=True,
                                    name=f"close-{output.name}") for output in self.running]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()

    def _call(self, output, call, *args):
        key = (output.name, call)
        try:
            result = getattr(output, call)(*args)
        except Exception as error:  # one output's trouble must never stop the others or the loop
            if repr(error) != self._failures.get(key):
                log.error("The %s output failed (%s): %s: %s", output.name, call, type(error).__name__, error,
                          exc_info=log.isEnabledFor(logging.DEBUG))
            self._failures[key] = repr(error)
            return None
        self._failures.pop(key, None)
        return result
