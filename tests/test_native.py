"""Silencing native logs on one thread must not eat Python's messages or lose fd 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, sys, threading, time
    from kinemo.native import own_stderr, quiet_stderr
    if sys.argv[1] == "own":
        own_stderr()
    stop = threading.Event()
    def reader():  # like the video reader: silence every decode
        while not stop.is_set():
            with quiet_stderr():
                os.write(2, b"native noise\\n")
                time.sleep(0.0005)  # a decode: releases the GIL with fd 2 silenced
    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(300):
        print(f"message {i}", file=sys.stderr)
        time.sleep(0.0002)
    stop.set()
    for t in threads:
        t.join()
    os.write(2, b"fd 2 is back\\n")
""")


def _run(mode: str) -> str:
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60).stderr


def test_messages_printed_while_another_thread_silences_all_arrive():
    err = _run("own")
    assert sum(f"message {i}\n" in err for i in range(300)) == 300, err[-2000:]
    assert "native noise" not in err
    assert err.rstrip().endswith("fd 2 is back")


def test_concurrent_silences_restore_fd2():
    # Without own_stderr some messages may be hidden, but fd 2 must come back afterwards.
    err = _run("plain")
    assert "native noise" not in err
    assert err.rstrip().endswith("fd 2 is back")
