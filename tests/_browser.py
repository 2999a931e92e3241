"""A minimal headless-Chromium driver for the tests, on the standard library only: the
DevTools protocol (CDP) over a pipe.

With ``--remote-debugging-pipe`` Chromium reads JSON commands from its fd 3 and writes JSON
replies and events to its fd 4, each message ended by a NUL byte. Two ``os.pipe()`` pairs are
handed to the child with ``pass_fds`` and moved onto fds 3 and 4 by a two-line Python
trampoline that then execs Chromium (no ``preexec_fn``, unsafe with threads; ``/bin/sh``'s
redirections take one-digit fds only). A reader thread splits the output into
messages and queues them; every wait has a deadline, and ``close`` ends the process (kills it
if it does not quit) whatever happened.

``find_chromium()`` gives the browser's path or None; ``Browser.open_page(url)`` loads a page
and returns what the tests check: the console errors and a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _above_ten(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (non-inheritable); ``fd`` itself is closed."""
    import fcntl
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return copy


class BrowserError(RuntimeError):
    pass


class Browser:
    """Headless Chromium driven over CDP through a pipe. Use as a context manager."""

    def __init__(self, executable: str, user_data_dir: str, timeout: float = 20.0) -> None:
        self.deadline = time.monotonic() + timeout  # for the whole session
        to_child_r, self._to_child = os.pipe()  # we write commands; Chromium reads fd 3
        self._from_child, from_child_w = os.pipe()  # Chromium writes fd 4; we read
        # the child's ends above fd 10, so that moving them onto 3 and 4 overwrites neither
        to_child_r, from_child_w = (_above_ten(fd) for fd in (to_child_r, from_child_w))
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--no-default-browser-check", "--disable-extensions",
                 "--disable-background-networking", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--window-size=1200,900",
                 f"--user-data-dir={user_data_dir}", "--remote-debugging-pipe"]
        # a small Python moves the pipe ends onto fds 3 and 4, then becomes Chromium (exec)
        trampoline = ("import os, sys; os.dup2(int(sys.argv[1]), 3); "
                      "os.dup2(int(sys.argv[2]), 4); os.execv(sys.argv[3], sys.argv[3:])")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", trampoline, str(to_child_r), str(from_child_w),
                 executable, *flags],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._messages: queue.Queue = queue.Queue()
        self._events: list[dict] = []
        self._next_id = 0
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # -- plumbing ----------------------------------------------------------------------------
    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._messages.put(None)  # the browser closed its end
                return
            buffer += chunk
            *complete, buffer = buffer.split(b"\0")
            for raw in complete:
                self._messages.put(json.loads(raw))

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:  # Chromium's own logging: kept for error messages
            self._stderr.append(line)

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BrowserError(f"Chromium did not answer in time; its stderr ends with: "
                               f"{b''.join(self._stderr[-5:]).decode(errors='replace')}")
        return left

    def _next_message(self) -> dict:
        try:
            message = self._messages.get(timeout=self._left())
        except queue.Empty:
            self._left()  # raises, with the stderr
            raise
        if message is None:
            raise BrowserError(f"Chromium closed the pipe; exit status {self.process.poll()}; "
                               f"stderr: {b''.join(self._stderr[-5:]).decode(errors='replace')}")
        return message

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and wait for its reply (events meanwhile are kept in ``events``)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_for(self, method: str, session: str | None = None) -> dict:
        """Wait for an event ``method`` (of ``session``); returns its params."""
        seen = 0
        while True:
            for event in self._events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event.get("params", {})
            seen = len(self._events)
            self._events.append(self._next_message())

    @property
    def events(self) -> list[dict]:
        return list(self._events)

    def close(self) -> None:
        try:
            os.write(self._to_child, json.dumps({"id": 0, "method": "Browser.close"}).encode()
                     + b"\0")
        except OSError:
            pass
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        finally:
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- what the tests use ------------------------------------------------------------------
    def open_page(self, url: str, check_expression: str) -> dict:
        """Load ``url`` in a new tab and return ``{"errors": [...], "check": value of
        check_expression, "screenshot": PNG bytes, "title": str}``."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.send(domain, session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session=session)
        check = self.send("Runtime.evaluate", {"expression": check_expression,
                                               "returnByValue": True, "awaitPromise": True},
                          session=session)
        if "exceptionDetails" in check:
            raise BrowserError(f"evaluating the check failed: {check['exceptionDetails']}")
        title = self.send("Runtime.evaluate", {"expression": "document.title",
                                               "returnByValue": True}, session=session)
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session=session)
        errors = []
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(f"{params['entry'].get('source')}: {params['entry'].get('text')}"
                              f" {params['entry'].get('url', '')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                       for a in params.get("args", [])))
        return {"errors": errors, "check": check["result"].get("value"),
                "title": title["result"].get("value"),
                "screenshot": base64.b64decode(shot["data"])}
