"""Runs a program on a new pseudo-terminal, as a person at a terminal would, and types into it.

    python3 terminal.py SPEC

SPEC is JSON: {"argv": [PROGRAM, ARG...], "steps": [{"after": TEXT, "type": KEYS}, ...]}.
For each step: wait until the terminal shows TEXT (after the previous step's), then wait until
the program has turned the terminal's echo off (a password prompt does so just after its
text), then type KEYS. Prints one JSON object: everything the terminal showed ("screen"), the
program's exit status ("status"), and for each step whether echo was off when it typed
("echo_off"). Every wait is bounded; a step whose text never comes ends the run early."""

import json
import os
import pty
import select
import sys
import termios
import time

WAIT = 30.0

spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(spec["argv"][0], spec["argv"])

screen = b""


def read_some(timeout):
    """Reads what the terminal shows within `timeout` seconds; False once the program is gone."""
    global screen
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # EIO: the program closed the terminal
        return False
    screen += chunk
    return bool(chunk)


def echo_is_on():
    # On Linux the master side reports the terminal's (the slave's) modes.
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


echo_off = []
seen = 0
alive = True
for step in spec["steps"]:
    want = step["after"].encode()
    deadline = time.monotonic() + WAIT
    while alive and want not in screen[seen:] and time.monotonic() < deadline:
        alive = read_some(0.1)
    at = screen.find(want, seen)
    if at < 0:
        break
    seen = at + len(want)
    deadline = time.monotonic() + 10.0
    while echo_is_on() and time.monotonic() < deadline:
        read_some(0.01)
    echo_off.append(not echo_is_on())
    os.write(fd, step["type"].encode())

deadline = time.monotonic() + WAIT
while alive and time.monotonic() < deadline:
    alive = read_some(0.1)
if alive:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(json.dumps({
    "screen": screen.decode("utf-8", "replace"),
    "status": os.waitstatus_to_exitcode(status),
    "echo_off": echo_off,
}))
