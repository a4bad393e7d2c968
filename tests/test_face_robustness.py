"""Bad and awkward input for the face path, and the VMC performer mode."""

import json
import shutil
import subprocess
import time

import cv2
import numpy as np
import pytest
from conftest import free_udp_port, run_kinemo
from pythonosc.osc_packet import OscPacket

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.face.expression import classify
from kinemo.frame import Frame
from kinemo.sources import CameraSource
from kinemo.vmc import blend_values, messages, pack

SMILE = protocol.ARKIT_INDEX["mouthSmileLeft"]


def write_avi(path, frames, fps=10):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def astronaut_face():
    from skimage import data

    return cv2.resize(data.astronaut()[20:300, 110:390], (240, 240))


def one_line_error(r):
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kinemo: error:"), r.stderr
    return lines[0]


def test_face_lost_for_a_long_time_eases_out_and_keeps_streaming(tmp_path, astronaut_face):
    gray = np.full_like(astronaut_face, 90)
    clip = write_avi(tmp_path / "lost.avi", [astronaut_face] * 10 + [gray] * 100)
    out = tmp_path / "lost.json"
    r = run_kinemo("video", str(clip), "-o", str(out), "--no-osc", "--smooth", "live", "--ease", "0.5")
    assert r.returncode == 0, r.stderr
    assert "110 frames (10 with a face)" in r.stderr
    doc = json.loads(out.read_text())
    smile = np.array(doc["blendshapes"])[:, SMILE]
    assert doc["present"] == [True] * 10 + [False] * 100
    assert smile[9] > 0.5  # smiling while seen
    assert 0 < smile[11] < smile[9]  # easing, not frozen and not snapped
    assert np.all(smile[16:] == 0)  # neutral after 0.5 s, and it stays there
    assert doc["emotion"][5] == "happy" and doc["emotion"][-1] == "neutral"


def test_truncated_video_writes_what_it_could_read(tmp_path, grid_clips):
    data = grid_clips[0].read_bytes()
    clip = tmp_path / "cut.mpg"
    clip.write_bytes(data[: len(data) // 2])
    out = tmp_path / "cut.csv"
    r = run_kinemo("video", str(clip), "-o", str(out), "--no-osc")
    assert r.returncode == 0, r.stderr
    rows = out.read_text().strip().splitlines()[1:]
    assert 10 < len(rows) < 75
    assert "Traceback" not in r.stderr


def test_corrupt_video_does_not_crash(tmp_path, grid_clips):
    data = bytearray(grid_clips[1].read_bytes())
    rng = np.random.default_rng(3)
    start = len(data) // 3
    data[start:start + 20000] = rng.integers(0, 256, 20000, dtype=np.uint8).tobytes()
    clip = tmp_path / "corrupt.mpg"
    clip.write_bytes(bytes(data))
    out = tmp_path / "corrupt.json"
    r = run_kinemo("video", str(clip), "-o", str(out), "--no-osc", "-q")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert len(json.loads(out.read_text())["time"]) > 20


def test_unsupported_codec_is_a_clear_error(tmp_path, astronaut_face):
    clip = write_avi(tmp_path / "codec.avi", [astronaut_face] * 5)
    clip.write_bytes(clip.read_bytes().replace(b"MJPG", b"ZQZQ"))
    msg = one_line_error(run_kinemo("video", str(clip)))
    assert "not a readable video" in msg


def test_camera_that_disappears_is_retried_then_reported(tmp_path, grid_clips):
    # A device path the camera source opens like any capture device; deleting it is the unplug.
    device = tmp_path / "cam.mpg"
    shutil.copy(grid_clips[0], device)
    cam = CameraSource(str(device), retry_seconds=1.0)
    frames = 0
    t0 = time.monotonic()
    with pytest.raises(KinemoError, match="stopped and did not come back within 1 s"):
        for _ in cam:
            frames += 1
            if frames == 10:
                device.unlink()
    assert frames == 75 and time.monotonic() - t0 >= 1.0
    cam.close()


def test_camera_that_comes_back_is_picked_up(tmp_path, grid_clips):
    device = tmp_path / "cam.mpg"
    shutil.copy(grid_clips[0], device)
    cam = CameraSource(str(device), retry_seconds=2.0)
    seen = 0
    for _ in cam:
        seen += 1
        if seen == 100:  # past the end of the first "connection": it reconnected by itself
            break
    assert cam.reconnects == 1
    cam.close()


def test_vmc_messages_follow_the_spec_layouts():
    f = Frame(seq=3, time=1.5, stamp=0.0, present=True)
    f.blendshapes[protocol.ARKIT_INDEX["jawOpen"]] = 0.5
    f.head[:3] = (20.0, 10.0, -5.0)
    f.expression = classify(f.blendshapes)
    datagrams = pack(messages(f))
    assert all(len(d) <= 1500 for d in datagrams) and len(datagrams) >= 2
    msgs = [m.message for d in datagrams for m in OscPacket(d).messages]
    layouts = {protocol.VMC_OK: (int,), protocol.VMC_TIME: (float,), protocol.VMC_BLEND_APPLY: ()}
    seen = set()
    for m in msgs:
        p = m.params
        if m.address in (protocol.VMC_BONE_POS, protocol.VMC_ROOT_POS):
            assert isinstance(p[0], str) and len(p) == 8 and all(isinstance(v, float) for v in p[1:])
        elif m.address == protocol.VMC_BLEND_VAL:
            assert len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], float)
        else:
            assert tuple(type(v) for v in p) == layouts[m.address], m.address
        seen.add(m.address)
    assert seen == {protocol.VMC_OK, protocol.VMC_TIME, protocol.VMC_ROOT_POS, protocol.VMC_BONE_POS,
                    protocol.VMC_BLEND_VAL, protocol.VMC_BLEND_APPLY}
    assert msgs[-1].address == protocol.VMC_BLEND_APPLY
    bones = {m.params[0]: m.params[4:] for m in msgs if m.address == protocol.VMC_BONE_POS}
    assert set(bones) == set(protocol.VMC_BONES)
    head = protocol.head_from_unity_quaternion(bones["Head"])
    neck = protocol.head_from_unity_quaternion(bones["Neck"])
    assert head[0] + neck[0] == pytest.approx(20.0, abs=0.5)  # head and neck share the yaw
    values = dict(blend_values(f))
    assert values["JawOpen"] == 0.5 and values["A"] == 0.5 and "Blink_L" in values


def test_vmc_mode_streams_to_oscdump(grid_clips):
    port = free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        r = run_kinemo("video", str(grid_clips[0]), "--vmc", f"127.0.0.1:{port}", "--max-frames", "3", "-q",
                       "--realtime")
        assert r.returncode == 0, r.stderr
        time.sleep(0.5)
    finally:
        dump.terminate()
        out, _ = dump.communicate(timeout=10)
    lines = out.splitlines()
    vals = [ln for ln in lines if " /VMC/Ext/Blend/Val sf " in ln]
    assert len(vals) == 3 * 57, len(vals)
    assert sum(" /VMC/Ext/Blend/Apply " in ln for ln in lines) == 3
    bones = [ln for ln in lines if " /VMC/Ext/Bone/Pos sfffffff " in ln]
    assert {ln.split()[3].strip('"') for ln in bones} == set(protocol.VMC_BONES)
    assert not any("/kinemo/" in ln for ln in lines)


def test_face_and_body_actions_from_the_same_frames(tmp_path):
    from conftest import SHARED, require

    clip = require(SHARED / "data" / "pose" / "dance.mp4")
    port = free_udp_port()
    import socket
    import threading

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.3)
    seen, done = set(), threading.Event()

    def listen():
        while not done.is_set():
            try:
                data, _ = sock.recvfrom(65536)
            except TimeoutError:
                continue
            seen.update(m.message.address for m in OscPacket(data).messages)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        r = run_kinemo("video", str(clip), "--actions", "--osc", f"127.0.0.1:{port}", "--max-frames", "40",
                       "--realtime", "-q")
    finally:
        time.sleep(0.3)
        done.set()
        thread.join(timeout=3)
        sock.close()
    assert r.returncode == 0, r.stderr
    assert protocol.ADDR_BLENDSHAPES in seen and protocol.ADDR_BODY_PRESENT in seen, seen
