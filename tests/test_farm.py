"""Batch baking on a Dask cluster (scripts/bake_audio.py --workers / --scheduler), on real clusters on 127.0.0.1.

A local cluster (``--workers``) bakes exactly what a plain run bakes, bad file included, and
listens on 127.0.0.1 only, over TLS; real ``dask scheduler`` / ``dask worker`` processes with a
throwaway CA run a batch over TLS while a worker is killed mid-file, and refuse a client whose
certificate another CA signed; workers that cannot see the files get them with --upload.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
from conftest import BIN, ROOT, SHARED, require, save_arkit_avatar

sys.path.insert(0, str(ROOT / "inference"))

SCRIPT = ROOT / "scripts" / "bake_audio.py"
DASK = BIN / "dask"

SUMMARY = """
import bpy, hashlib, json, sys
import numpy as np
bpy.ops.wm.open_mainfile(filepath=sys.argv[-1])
key = next(o for o in bpy.data.objects if o.type == 'MESH' and o.data.shape_keys).data.shape_keys
actions = {}
for a in bpy.data.actions:
    curves = []
    for layer in a.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                for fc in bag.fcurves:
                    co = np.empty(2 * len(fc.keyframe_points), np.float32)
                    fc.keyframe_points.foreach_get('co', co)
                    curves.append([fc.data_path, hashlib.md5(co.tobytes()).hexdigest()])
    actions[a.name] = sorted(curves)
ad = key.animation_data
se = bpy.context.scene.sequence_editor
print('SUMMARY' + json.dumps({
    'actions': actions,
    'assigned': ad.action.name if ad and ad.action else None,
    'nla': [[t.name, [[s.action.name, s.frame_start, s.frame_end] for s in t.strips]] for t in ad.nla_tracks]
           if ad else [],
    'sounds': sorted([s.name, s.channel, s.frame_start, s.mute, bpy.path.abspath(s.sound.filepath)]
                     for s in (se.strips_all if se else []) if s.type == 'SOUND'),
    'frames': [bpy.context.scene.frame_start, bpy.context.scene.frame_end]}, sort_keys=True))
"""


def bake(*args, timeout=180, env=None, **kw):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, **kw)


def summary(blend: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", SUMMARY, str(blend)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.split("SUMMARY", 1)[1])


@pytest.fixture(scope="module")
def avatar(tmp_path_factory) -> Path:
    return save_arkit_avatar(tmp_path_factory.mktemp("farm-avatar") / "avatar.blend")


@pytest.fixture(scope="module")
def lines(tmp_path_factory, grid_clips) -> list[Path]:
    """Real speech, 1-3 s each, in the kinds a batch has: FLAC, the sound of a video, WAV."""
    d = tmp_path_factory.mktemp("farm-lines")
    speech, rate = sf.read(require(SHARED / "data" / "speech" / "jfk.flac"))
    shutil.copy(require(ROOT / "rigs" / "media" / "hello.flac"), d / "hello.flac")
    shutil.copy(grid_clips[0], d / "grid_a.mpg")
    shutil.copy(grid_clips[1], d / "grid_b.mpg")
    sf.write(d / "jfk_part.wav", speech[: int(2.5 * rate)], rate)
    return sorted(d.iterdir())


# -- a local cluster ------------------------------------------------------------------------------

def test_local_workers_bake_what_a_plain_run_bakes(tmp_path, avatar, lines):
    """--workers 2: the same actions (to the keyframe), sound strips and frame range as a run without a cluster;
    a bad file among good ones is reported once and the exit status is 1; our lines only."""
    audio = tmp_path / "audio"
    audio.mkdir()
    for f in lines:
        shutil.copy(f, audio / f.name)
    (audio / "broken.wav").write_text("not audio at all")
    plain, farm = tmp_path / "plain.blend", tmp_path / "farm.blend"
    r = bake("--blend", avatar, audio, "--output", plain, "--fps", 30)
    assert r.returncode == 1, r.stdout + r.stderr
    r = bake("--blend", avatar, audio, "--output", farm, "--fps", 30, "--workers", 2)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "bake_audio: 5 files on a local Dask cluster of 2 workers on 127.0.0.1 (TLS)", out
    assert "[1/5] broken.wav: FAILED" in out and out[-1].startswith("bake_audio: baked 4 of 5 files onto 'Face'")
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("bake_audio: failed: ") and "broken.wav" in errors[0], errors
    assert errors[0].count("broken.wav") == 1, errors
    a, b = summary(plain), summary(farm)
    assert {"hello", "grid_a", "grid_b", "jfk_part"} <= set(a["actions"])
    assert a == b


def test_local_cluster_listens_on_loopback_only_over_tls(tmp_path):
    """Nothing of a --workers cluster can be reached from another machine, nor used without this run's
    certificate: every listening socket of the process and its workers is on 127.0.0.1; comms are TLS."""
    import psutil
    from distributed import Client
    from distributed.security import Security

    from kinemo.farm import Farm

    farm = Farm(workers=2)
    farm.check()
    farm.start()
    try:
        assert farm.ready().startswith("a local Dask cluster of 2 workers")
        info = farm.client.scheduler_info()
        addresses = [info["address"], *info["workers"]]
        assert len(addresses) == 3 and all(a.startswith("tls://127.0.0.1:") for a in addresses), addresses
        me = psutil.Process()
        listening = [c.laddr for p in (me, *me.children(recursive=True))
                     for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert len(listening) >= 5 and all(a.ip == "127.0.0.1" for a in listening), listening
        outsider = _certificates(tmp_path)  # TLS, but not with this run's certificate
        with pytest.raises((OSError, TimeoutError)):
            Client(info["address"], timeout="3s", set_as_default=False, security=Security(
                tls_ca_file=str(outsider["outsider-ca"]), tls_client_cert=str(outsider["outsider"]),
                tls_client_key=str(outsider["outsider"]), require_encryption=True))
    finally:
        farm.close()


# -- real `dask scheduler` / `dask worker` processes, TLS ----------------------------------------

def _certificates(folder: Path) -> dict[str, Path]:
    """A throwaway CA and certificates signed by it (scheduler, worker, client), plus an outsider's CA and
    client certificate; PEM files, key and certificate in one file each."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(name, key, issuer_name, issuer_key, ca):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name or subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        return builder.sign(issuer_key or key, hashes.SHA256())

    def write(name, key, crt):
        path = folder / f"{name}.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()) + crt.public_bytes(serialization.Encoding.PEM))
        return path

    out = {}
    for ca_name, roles in (("ca", ("scheduler", "worker", "client")), ("outsider-ca", ("outsider",))):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = cert(ca_name, ca_key, None, None, True)
        (folder / f"{ca_name}.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        out[ca_name] = folder / f"{ca_name}.pem"
        for role in roles:
            key = ec.generate_private_key(ec.SECP256R1())
            out[role] = write(role, key, cert(role, key, ca_cert.subject, ca_key, False))
    return out


class Cluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, ended (by their ids) when the test ends."""

    def __init__(self, folder: Path, tls: dict[str, Path] | None, env=None) -> None:
        self.folder, self.tls, self.procs = folder, tls, []
        args = ["--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", folder / "scheduler.json"]
        if tls:
            args += ["--protocol", "tls", *self._tls("scheduler")]
        self.scheduler = self._spawn([DASK, "scheduler", *args], "scheduler", env)
        deadline = time.monotonic() + 60
        while not (folder / "scheduler.json").is_file():
            assert self.scheduler.poll() is None and time.monotonic() < deadline, (folder / "scheduler.log").read_text()
            time.sleep(0.1)
        time.sleep(0.1)
        self.address = json.loads((folder / "scheduler.json").read_text())["address"]

    def _tls(self, role: str) -> list:
        return ["--tls-ca-file", self.tls["ca"], "--tls-cert", self.tls[role], "--tls-key", self.tls[role]]

    def _spawn(self, argv, log: str, env=None):
        with open(self.folder / f"{log}.log", "w") as out:  # the child keeps its own copy
            proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=out,
                                    env={**os.environ, **(env or {})}, start_new_session=True)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, *extra, env=None, prefix=()):
        args = [*prefix, DASK, "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                "--name", name, *extra]
        if self.tls:
            args += self._tls("worker")
        return self._spawn(args, name, env)

    def security_file(self, role: str = "client", ca: str = "ca") -> Path:
        path = self.folder / f"security-{role}.yaml"
        path.write_text(f"tls:\n  ca-file: {self.tls[ca]}\n  cert: {self.tls[role]}\n  key: {self.tls[role]}\n")
        return path

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client
        from distributed.security import Security

        sec = (Security(tls_ca_file=str(self.tls["ca"]), tls_client_cert=str(self.tls["client"]),
                        tls_client_key=str(self.tls["client"]), require_encryption=True) if self.tls else None)
        with Client(self.address, security=sec, timeout="30s", set_as_default=False) as c:
            c.wait_for_workers(n, timeout=90)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def cluster_dir(tmp_path):
    d = tmp_path / "cluster"
    d.mkdir()
    return d


HANG = '''
"""Preloaded by one test worker: its first file hangs (the test then kills the worker with SIGKILL)."""
import os
import time
from pathlib import Path

import kinemo.farm

def animate(*args, **kwargs):
    Path(os.environ["KINEMO_TEST_BUSY"]).write_text(str(os.getpid()))
    time.sleep(600)

kinemo.farm.animate = animate
'''


def test_tls_farm_bakes_every_file_though_a_worker_is_killed_mid_batch(tmp_path, cluster_dir, avatar, lines):
    """Over TLS with a throwaway CA: a worker SIGKILLed while it runs a file; that file runs again on the other
    worker, every file is baked and the exit status is 0. A client that brings no certificate, or one from another
    CA, gets nothing."""
    tls = _certificates(cluster_dir)
    farm = Cluster(cluster_dir, tls)
    try:
        assert farm.address.startswith("tls://127.0.0.1:")
        (cluster_dir / "hang.py").write_text(HANG)
        busy = cluster_dir / "busy"
        doomed = farm.worker("doomed", "--no-nanny", "--preload", cluster_dir / "hang.py",
                             env={"KINEMO_TEST_BUSY": str(busy)})
        farm.worker("steady", "--no-nanny")
        farm.wait_for_workers(2)
        audio = tmp_path / "audio"
        audio.mkdir()
        for k in range(3):  # a dozen files: every worker gets some
            for f in lines:
                shutil.copy(f, audio / f"{f.stem}_{k}{f.suffix}")
        out = tmp_path / "farm.blend"

        r = bake("--blend", avatar, audio, "--output", out, "--scheduler", farm.address)
        assert r.returncode == 2 and "needs TLS credentials" in r.stderr and not out.exists(), r.stderr
        r = bake("--blend", avatar, audio, "--output", out, "--scheduler", farm.address,
                 "--security", farm.security_file("outsider", "outsider-ca"),
                 env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"})
        assert r.returncode == 2 and "cannot reach the Dask scheduler" in r.stderr and not out.exists(), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr

        proc = subprocess.Popen([sys.executable, str(SCRIPT), "--blend", str(avatar), str(audio), "--output", str(out),
                                 "--nla", "--scheduler", farm.address, "--security", farm.security_file()],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not busy.is_file():  # the doomed worker is in the middle of a file
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.05)
            doomed.send_signal(signal.SIGKILL)
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, stdout + stderr
        assert stdout.startswith(f"bake_audio: 12 files on the Dask scheduler at {farm.address}: 2 workers"), stdout
        lost = r"^bake_audio: worker tls://127\.0\.0\.1:\d+ was lost mid-batch; its (1 file runs|\d files run) again"
        assert re.search(lost, stdout, re.M), stdout
        assert "baked 12 of 12 files" in stdout.strip().splitlines()[-1], stdout
        baked = summary(out)
        assert len(baked["nla"][0][1]) == 12 and len(baked["sounds"]) == 12, baked
    finally:
        farm.stop()


CRASH = '''
"""Preloaded by a test worker: a file named crash* kills the worker process that runs it (its nanny starts another)."""
import os

import kinemo.farm

_animate = kinemo.farm.__dict__.setdefault("_unpatched_animate", kinemo.farm.animate)  # preloaded more than once


def animate(label, name, *args, **kwargs):
    if name.startswith("crash"):
        os._exit(1)
    return _animate(label, name, *args, **kwargs)


kinemo.farm.animate = animate
'''


def test_a_file_that_kills_every_worker_fails_alone(tmp_path, cluster_dir, avatar, lines):
    """The first task holds two files here (8 files, one worker thread). Dask gives up on the task whose file kills
    the worker (after allowed-failures, 0 here to keep the test short); its files then run one a task, so only that
    file fails: reported with its reason, the rest baked, exit status 1."""
    audio = tmp_path / "audio"
    audio.mkdir()
    for k in range(2):
        for f in lines:
            shutil.copy(f, audio / f"{f.stem}_{k}{f.suffix}")
    shutil.move(audio / "hello_1.flac", audio / "crash.flac")
    (cluster_dir / "crash.py").write_text(CRASH)
    farm = Cluster(cluster_dir, None, env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    try:
        farm.worker("fragile", "--preload", cluster_dir / "crash.py")  # with a nanny, which restarts it
        farm.wait_for_workers(1)
        r = bake("--blend", avatar, audio, "--output", tmp_path / "out.blend", "--scheduler", farm.address)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "[1/8] crash.flac: FAILED" in r.stdout and "baked 7 of 8 files" in r.stdout, r.stdout
        failed = [ln for ln in r.stderr.splitlines() if ln.startswith("bake_audio: failed: ")]
        assert failed == [f"bake_audio: failed: {audio / 'crash.flac'}: the workers that ran it died each time: it "
                          "may crash Kinemo; try it alone with 'kinemo audio'"], r.stderr
    finally:
        farm.stop()


def test_upload_feeds_workers_that_cannot_see_the_files(tmp_path, cluster_dir, avatar, lines):
    """Workers (with their nannies) in a mount namespace of their own, where the audio folder is an empty tmpfs
    (where the system lets us make one: as root): by path every file fails with the hint to upload (exit 1, nothing
    written); with --upload every file is baked, here split into one .blend per 2 files."""
    audio = tmp_path / "audio"
    audio.mkdir()
    for f in lines[:3]:
        shutil.copy(f, audio / f.name)
    hide = shutil.which("unshare") and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0
    prefix = ["unshare", "-m", "sh", "-c", f'mount -t tmpfs hidden "{audio}" && exec "$@"', "sh"] if hide else []
    farm = Cluster(cluster_dir, None)
    try:
        farm.worker("hidden", "--nworkers", "2", prefix=prefix)
        farm.wait_for_workers(2)
        out = tmp_path / "out.blend"
        if hide:  # without shared storage, by path: each file says what to do
            r = bake("--blend", avatar, audio, "--output", out, "--scheduler", farm.address)
            assert r.returncode == 1, r.stdout + r.stderr
            failed = [ln for ln in r.stderr.splitlines() if ln.startswith("bake_audio: failed: ")]
            assert len(failed) == 3 and all("not found on worker" in ln and "--upload" in ln for ln in failed), failed
            assert not out.exists()
        r = bake("--blend", avatar, audio, "--output", out, "--scheduler", farm.address, "--upload", "--split", 2)
        assert r.returncode == 0, r.stdout + r.stderr
        parts = [tmp_path / "out_001.blend", tmp_path / "out_002.blend"]
        assert "baked 3 of 3 files onto 'Face'" in r.stdout
        assert f"wrote {parts[0]} … out_002.blend (2 files)" in r.stdout
        assert not out.exists() and all(p.is_file() for p in parts)
        first, second = summary(parts[0]), summary(parts[1])
        names = [f.stem for f in lines[:3]]
        assert sorted(n for n in first["actions"] if n in names) == names[:2]
        assert sorted(n for n in second["actions"] if n in names) == names[2:]
        assert [s[0] for s in second["sounds"]] == names[2:] and second["sounds"][0][2] == 1  # a fresh start
    finally:
        farm.stop()


# -- arguments and the task itself, no cluster --------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "pass one of them"),
    (["--upload"], "--upload is for a Dask cluster"),
    (["--workers", "1", "--security", "x.yaml"], "--security is for --scheduler"),
    (["--scheduler", "tls://127.0.0.1:1"], "needs TLS credentials"),
    (["--scheduler", "udp://127.0.0.1:1"], "use tcp://HOST:PORT or tls://HOST:PORT"),
    (["--scheduler", "tls://127.0.0.1:1", "--security", "{tmp}/bad.yaml"], "expected 'tls:'"),
    (["--scheduler", "tls://127.0.0.1:1", "--security", "{tmp}/missing.yaml"], "cannot read it"),
    (["--workers", "2", "--kinemo", "kinemo"], "each worker runs its own installed Kinemo"),
    (["--split", "0"], "--split"),
])
def test_bad_farm_arguments_are_one_clear_line(tmp_path, avatar, args, words):
    wav = tmp_path / "line.wav"
    sf.write(wav, [0.0] * 1600, 16000)
    (tmp_path / "bad.yaml").write_text("tls: {ca-file: ca.pem}\n")
    r = bake("--blend", avatar, wav, "--output", tmp_path / "out.blend", *[a.format(tmp=tmp_path) for a in args],
             timeout=60)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == "", r.stdout + r.stderr
    assert not (tmp_path / "out.blend").exists()


def test_a_tcp_farm_beyond_this_machine_is_warned_about():
    from kinemo.farm import Farm

    farm = Farm(scheduler="tcp://10.1.2.3:8786")
    farm.check()
    assert len(farm.warnings) == 1 and "neither encrypted nor authenticated" in farm.warnings[0]
    farm = Farm(scheduler="tcp://127.0.0.1:8786")
    farm.check()
    assert farm.warnings == []


def test_the_task_reads_a_path_or_uploaded_bytes_and_names_the_users_file(tmp_path, lines):
    """The worker's side, in this process: a take from a path and from bytes, identical; a bad file's reason names
    the file as the user typed it, never the worker's temporary copy; a path the worker lacks says --upload."""
    import numpy as np

    from kinemo.farm import animate

    f = next(f for f in lines if f.suffix == ".flac")
    by_path, why = animate("lines/hello.flac", f.name, 30, path=str(f))
    assert why is None
    by_bytes, why = animate("lines/hello.flac", f.name, 30, data=f.read_bytes())
    assert why is None
    a, b = by_path, by_bytes
    assert np.array_equal(a["blendshapes"], b["blendshapes"]) and len(a["time"]) > 100
    assert a.keys() == b.keys() and all(isinstance(v, np.ndarray) for v in a.values())
    take, why = animate("mine/broken.wav", "broken.wav", 30, data=b"not audio at all")
    assert take is None and "mine/broken.wav" in why and "kinemo-farm-" not in why, why
    take, why = animate("elsewhere/x.wav", "x.wav", 30, path=str(tmp_path / "nowhere" / "x.wav"))
    assert take is None and "not found on worker" in why and "--upload" in why, why


def test_tasks_get_smaller_as_the_batch_runs_out(tmp_path):
    """A task takes its share of the files left per worker thread, so most are large (Dask's cost per task
    is paid rarely), the first grow from one file (the bake starts at once) and the last hold one file each (no
    worker idles while another finishes a long task); every
    file once, in order, and never more than CHUNK_FILES files or CHUNK_BYTES per task."""
    from kinemo.farm import CHUNK_BYTES, CHUNK_FILES, CHUNK_SHARE, Batch

    files = []
    for i in range(600):
        f = tmp_path / f"line_{i:03d}.wav"
        with open(f, "wb") as out:
            out.truncate(3 << 20 if i in (100, 101, 102) else 96_000)  # three long takes: sparse, no disk used
        files.append(f)
    batch = Batch.__new__(Batch)  # the grouping alone: no cluster
    batch.files, batch._threads = files, 2
    groups = list(batch._chunks())
    sizes = [len(g) for g in groups]
    assert [i for g in groups for i in g] == list(range(600))
    assert sizes[:10] == [1, 1, 2, 2, 4, 4, 8, 8, 16, 16], sizes  # the first takes are back at once
    assert CHUNK_FILES == 32 and sizes[10] == CHUNK_FILES and max(sizes) <= CHUNK_FILES and sizes[-8:] == [1] * 8
    assert len(groups) < 600 // 8, "fewer tasks than 8 files a task"
    assert all(sum(files[i].stat().st_size for i in g) <= CHUNK_BYTES or len(g) == 1 for g in groups)
    left = 600
    for n in sizes:
        assert n <= max(1, left // (2 * CHUNK_SHARE)), (n, left)
        left -= n
    batch.files = files[:5]
    assert [len(g) for g in batch._chunks()] == [1] * 5  # a short batch: one file a task, every worker gets some



def test_waiting_takes_stay_in_memory_up_to_the_limit_then_wait_on_disk(tmp_path):
    """A farm that outruns the bake: takes past the memory limit wait as NPZ files, each handed over once and
    read back as it was sent."""
    import numpy as np

    from kinemo.farm import WaitingTakes

    arrays = {"meta": np.array('{"fps": 30}'), "time": np.arange(90) / 30, "blendshapes": np.ones((90, 52), np.float32)}
    size = sum(a.nbytes for a in arrays.values())
    waiting = WaitingTakes(tmp_path, limit=2 * size)
    for i in range(3):
        waiting.put(i, arrays)
    first, third = waiting.pop(0), waiting.pop(2)
    assert isinstance(first, dict) and first["blendshapes"] is arrays["blendshapes"]
    assert third == tmp_path / "take_2.npz"
    with np.load(third, allow_pickle=False) as z:
        assert z.files == list(arrays) and all(np.array_equal(z[k], arrays[k]) for k in arrays)
    waiting.put(3, arrays)  # room again once a take was handed over
    assert isinstance(waiting.pop(3), dict)
    with pytest.raises(KeyError):
        waiting.pop(0)
