"""A job's state and progress on one line of the terminal, rewritten in
place, or one line per change when the output is not a terminal."""

import time


class ProgressLine:
    def __init__(self, stream, quiet=False):
        self.stream = stream
        self.quiet = quiet
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last = ""
        self.width = 0
        self.active_since = None

    def show(self, job):
        if self.quiet:
            return
        text = self.describe(job)
        if text == self.last:
            return
        self.last = text
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = max(self.width, len(text))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def describe(self, job):
        state = job.get("state", "?")
        ref = job.get("id", "?")
        parts = ["job %s %s" % (ref, state)]
        terminal = state in ("COMPLETE", "ERROR", "CANCEL")
        if job.get("cancel_requested") and not terminal:
            parts[0] += " (cancelling)"
        if state == "ACTIVE":
            if self.active_since is None:
                self.active_since = time.monotonic()
            if job.get("worker"):
                parts[0] += " on " + job["worker"]
        p = job.get("progress") or {}
        if p and not terminal:
            parts.append("step %d" % p.get("step", 0))
            if p.get("cost") is not None:
                parts.append("chisq %.6g" % p["cost"])
        # The elapsed time only on a terminal line: elsewhere it would
        # make a new line every second with nothing new in it.
        if self.tty and self.active_since is not None and not terminal:
            parts.append("%ds" % (time.monotonic() - self.active_since))
        text = "  ".join(parts)
        if terminal and job.get("reason"):
            text += ": " + job["reason"]
        return text

    def done(self):
        if self.tty and not self.quiet and self.last:
            self.stream.write("\n")
            self.stream.flush()
