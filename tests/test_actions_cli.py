"""`kinemo actions` end to end: real MediaPipe on a real clip, real UDP, real files."""

from __future__ import annotations

import json
import socket

import cv2
import numpy as np
import pytest
from conftest import SHARED, free_udp_port, require, run_kinemo
from pythonosc.osc_packet import OscPacket

from kinemo import protocol
from kinemo.body.generator import VOCABULARY, generate
from kinemo.body.posefile import PoseTrack, read_pose_file, write_pose_file

DANCE = SHARED / "data" / "pose" / "dance.mp4"


def one_line_error(r) -> str:
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("kinemo: error:") and "Traceback" not in r.stderr
    return lines[0]


def receive_all(sock: socket.socket) -> list[tuple[str, tuple]]:
    sock.settimeout(0.5)
    out = []
    while True:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return out
        out += [(m.message.address, tuple(m.message.params)) for m in OscPacket(data).messages]


@pytest.fixture(scope="module")
def dance_run(tmp_path_factory):
    """One real run over the dance clip: events JSON, recorded pose, and what arrived over UDP."""
    tmp = tmp_path_factory.mktemp("dance")
    port = free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        r = run_kinemo("actions", "--video", str(require(DANCE)), "-o", str(tmp / "events.json"),
                       "--record-pose", str(tmp / "pose.npz"), "--osc", f"127.0.0.1:{port}",
                       "--actions-dir", str(tmp / "none"))
        messages = receive_all(sock)
    return r, tmp, messages


def test_video_runs_end_to_end_and_writes_events(dance_run):
    r, tmp, _ = dance_run
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp / "events.json").read_text())
    assert doc["format"] == "kinemo-actions" and doc["labels"] == list(VOCABULARY)
    assert doc["frames"] == 102 and doc["person_frames"] >= 95
    for e in doc["events"]:
        assert e["label"] in VOCABULARY[1:]
        assert 0 <= e["start"] <= e["end"] <= 102 / 20 and 0 <= e["confidence"] <= 1
    assert f"{len(doc['events'])} events" in r.stderr


def test_recorded_pose_file_replays_to_the_same_events(dance_run, tmp_path):
    _, tmp, _ = dance_run
    track = read_pose_file(tmp / "pose.npz")
    assert track.landmarks.shape == (102, 33, 4) and track.size == (600, 600) and track.fps == 20
    assert track.present.sum() >= 95
    r = run_kinemo("actions", "--pose-file", str(tmp / "pose.npz"), "-o", str(tmp_path / "again.json"),
                   "--no-osc", "--actions-dir", str(tmp_path / "none"))
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["events"] == json.loads((tmp / "events.json").read_text())["events"]


def test_osc_stream_carries_presence_probabilities_and_events(dance_run):
    r, tmp, messages = dance_run
    by_addr: dict[str, list] = {}
    for address, args in messages:
        update = protocol.decode_message(address, args)
        assert update is not None
        by_addr.setdefault(address, []).append(update)
    assert len(by_addr[protocol.ADDR_BODY_PRESENT]) >= 100
    for u in by_addr[protocol.ADDR_BODY_PROBS]:
        labels, values = u.values[0::2], np.array(u.values[1::2])
        assert labels == VOCABULARY and abs(values.sum() - 1) < 1e-3
    ends = [u for u in by_addr.get(protocol.ADDR_BODY_EVENT, []) if u.values[1] == protocol.EVENT_END]
    assert len(ends) == len(json.loads((tmp / "events.json").read_text())["events"])


def test_nobody_in_view_gives_no_events(tmp_path):
    clip = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 15, (160, 120))
    for i in range(20):
        writer.write(np.full((120, 160, 3), 30 + 5 * i, np.uint8))
    writer.release()
    r = run_kinemo("actions", "--video", str(clip), "-o", str(tmp_path / "e.json"), "--no-osc",
                   "--actions-dir", str(tmp_path / "none"))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["frames"] == 20 and doc["person_frames"] == 0 and doc["events"] == []


def test_person_leaving_mid_action_ends_the_event(tmp_path):
    seq = generate(np.random.default_rng(7), [("idle", 2.0), ("hands_up", 4.0)])
    present = seq.time < 4.5  # walks out of the frame 2.5 s into the action
    lm = np.where(present[:, None, None], seq.landmarks, 0.0).astype(np.float32)
    write_pose_file(tmp_path / "leave.npz", PoseTrack(seq.time, lm, present, seq.fps, seq.size))
    r = run_kinemo("actions", "--pose-file", str(tmp_path / "leave.npz"), "-o", str(tmp_path / "e.json"),
                   "--no-osc", "--actions-dir", str(tmp_path / "none"))
    assert r.returncode == 0, r.stderr
    events = json.loads((tmp_path / "e.json").read_text())["events"]
    assert [e["label"] for e in events] == ["hands_up"]
    # hands_up starts once both hands have been over the head for 0.6 s
    assert 2.0 <= events[0]["start"] <= 3.0 and events[0]["end"] == pytest.approx(seq.time[present][-1], abs=0.1)


def test_truncated_pose_file_is_a_clear_error(dance_run, tmp_path):
    data = (dance_run[1] / "pose.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 3])
    assert "damaged or truncated" in one_line_error(run_kinemo("actions", "--pose-file", str(tmp_path / "cut.npz")))


def test_bad_sources_and_outputs_are_clear_errors(tmp_path):
    assert "--camera N, --video PATH or --pose-file" in one_line_error(run_kinemo("actions"))
    assert "no such file" in one_line_error(run_kinemo("actions", "--video", str(tmp_path / "nope.mp4")))
    assert "no such pose file" in one_line_error(run_kinemo("actions", "--pose-file", str(tmp_path / "x.npz")))
    assert ".json" in one_line_error(run_kinemo("actions", "--pose-file", "x.npz", "-o", "events.csv"))
    assert "no camera at 7" in one_line_error(run_kinemo("actions", "--camera", "7"))
    assert "--people must be 1 or more" in one_line_error(
        run_kinemo("actions", "--pose-file", "x.npz", "--people", "0"))
    assert "folder does not exist" in one_line_error(
        run_kinemo("actions", "--video", str(DANCE), "--record-pose", str(tmp_path / "no" / "p.npz")))


def test_help_teaches():
    r = run_kinemo("actions", "--help")
    assert r.returncode == 0
    for text in ("examples:", "--pose-file", "--record-pose", "actions train", "hands_up", "--people", "largest"):
        assert text in r.stdout
    assert "actions" in run_kinemo("--help").stdout
