"""Does what selection learns from projected joints carry to the real pose tracker on pictures?

    python scripts/actions/render_eval.py [--renders build/actions/renders]

Each video of ``render_mocap.py`` (a motion file carried by the MakeHuman body, one camera yaw)
goes through the whole ``kinemo actions --video`` path — MediaPipe's pose tracker on the pictures,
then the shipped detectors and hysteresis — and its pose track is kept beside it. The same file,
cut to the same length, is also filmed the way selection films it (``mocap.render``: the joints
projected by the generator's camera, with its tracker noise model), and the same pipeline runs on
that track. Both are scored as selection scores: a file is found when an event of its label starts
in it; any other event is false (``walk`` in the "walk and …" negatives, and a walk or jump the take's 3-D
capture shows the body doing then, excepted: ``mocap.body_did``). The table puts
the two side by side per label and view, so a gap says where the projection flatters or wrongs
the detectors.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mocap  # noqa: E402
import render_mocap  # noqa: E402
from actions_eval import score_item  # noqa: E402

from kinemo.body.pipeline import ActionPipeline  # noqa: E402
from kinemo.body.posefile import PoseTrack, read_pose_file  # noqa: E402
from kinemo.body.skeleton import L_WRIST, R_WRIST  # noqa: E402

DEFAULT = HERE.parents[1] / "build" / "actions" / "renders"


@dataclass
class Video:
    path: Path
    item: mocap.MotionFile
    yaw: int
    fps: float


def index(items: list[mocap.MotionFile]) -> dict[str, mocap.MotionFile]:
    """Motion files by the key their videos' names carry (``render_mocap.video_key``), for :func:`parse`."""
    return {render_mocap.video_key(i): i for i in items}


def parse(path: Path, items: dict[str, mocap.MotionFile]) -> Video | None:
    """``SOURCE__VIDEOKEY__yYAW_fFPS.mp4`` (``render_mocap.video_name``) → its motion file (``items``: from
    :func:`index`; a generator take from its name) and view."""
    parts = path.stem.split("__")
    if len(parts) != 3 or not parts[2].startswith("y"):
        return None
    yaw, fps = parts[2][1:].split("_f")
    item = items.get(parts[1])
    if item is None and parts[0] == "generator":
        item = mocap.generator_take(parts[1].removeprefix("generator-"))
    return Video(path, item, int(yaw), float(fps)) if item else None


def track_video(video: Video) -> PoseTrack | str:
    """The pose track MediaPipe finds in the video (``kinemo actions --video``), kept as ``*.pose.npz``;
    or why there is none (the command's last line)."""
    pose = video.path.with_suffix(".pose.npz")
    if not pose.exists():
        r = subprocess.run([sys.executable, "-m", "kinemo", "actions", "--video", str(video.path), "--record-pose",
                            str(pose), "--no-osc", "-o", str(video.path.with_suffix(".events.json"))],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
    return read_pose_file(pose)


def events(track: PoseTrack, label: str = "", world: tuple[np.ndarray, float] | None = None) -> list[str]:
    """The labels of the events the shipped pipeline starts on a track (``kinemo actions --pose-file``); with the
    take's ``label`` and 3-D capture (``world``: landmarks, frame rate), those that score as selection scores them
    (``mocap.scored``)."""
    got = ActionPipeline.create_from_options(track=False).replay(track)
    if world is None:
        return [e.label for e in got]
    return mocap.scored(got, label, mocap.body_did(*world), world[1])


def depth_scale(tracks: list[tuple[int, PoseTrack, np.ndarray, float]]) -> dict[int, tuple[float, float, int]]:
    """How tracks' depth compares with the truth, per camera yaw: each (yaw, track, its take's world landmarks,
    their frame rate) gives the wrists' depth difference the track reports (z, ÷ the torso's length in the
    picture) against the true one along the camera's axis (÷ the body's torso length) in every frame with a
    person; (least-squares slope, correlation, frames). ``kinematics.MEDIAPIPE_DEPTH`` comes from this."""
    pairs: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for yaw, track, world, fps_in in tracks:
        frames = np.clip(np.round(track.time * fps_in).astype(int), 0, len(world) - 1)[track.present]
        w, lm = world[frames], track.landmarks[track.present].astype(np.float64)
        # the camera keeps its distance (it pans after the performer): one scale per track, the median torso
        true = (w[:, L_WRIST] - w[:, R_WRIST]) @ render_mocap.towards_camera(yaw) / np.median(mocap.torso_lengths(w))
        xyz = lm[..., :3] * np.array([track.aspect, 1.0, track.aspect])  # z shares x's scale
        picture_torso = max(float(np.median(mocap.torso_lengths(xyz[..., :2]))), 1e-6)
        seen = -(xyz[:, L_WRIST, 2] - xyz[:, R_WRIST, 2]) / picture_torso
        pairs.setdefault(yaw, []).append((true, seen))
    out = {}
    for yaw, p in sorted(pairs.items()):
        t, m = np.concatenate([a for a, _ in p]), np.concatenate([b for _, b in p])
        out[yaw] = (float(t @ m / max(t @ t, 1e-12)), float(np.corrcoef(t, m)[0, 1]), len(t))
    return out


def projected(v: Video, track: PoseTrack, world: np.ndarray, fps_in: float, seed: int) -> PoseTrack:
    """The take (its world landmarks at ``fps_in``) as selection films it (``mocap.render``), as long as its
    tracked video."""
    world = world[: int(np.ceil((track.time[-1] + 1.0 / v.fps) * fps_in)) + 1]
    return mocap.render(world, fps_in, yaw_deg=float(v.yaw), fps=v.fps, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--renders", type=Path, default=DEFAULT, help="the videos of render_mocap.py")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--depth", action="store_true",
                    help="only compare MediaPipe's depth (z) of the wrists with the truth, per view (tracked videos)")
    args = ap.parse_args(argv)
    items = index(mocap.read_manifest())
    videos = [v for p in sorted(args.renders.glob("*.mp4")) if (v := parse(p, items))]
    if not videos:
        sys.exit(f"no rendered videos in {args.renders}: run scripts/actions/render_mocap.py first")
    if args.depth:
        tracked, filmed = [], []
        for v in videos:
            if (pose := v.path.with_suffix(".pose.npz")).exists():
                track, (world, fps_in) = read_pose_file(pose), mocap.load_world(v.item)
                filmed.append((v.yaw, projected(v, track, world, fps_in, args.seed + len(tracked)), world, fps_in))
                tracked.append((v.yaw, track, world, fps_in))
        for name, tracks in (("MediaPipe on the renders", tracked), ("projected joints", filmed)):
            for yaw, (slope, corr, n) in depth_scale(tracks).items():
                print(f"{name}, yaw {yaw:3d}: the wrists' depth difference = {slope:.2f} x the true one "
                      f"(correlation {corr:.2f}, {n} frames)")
        return 0
    os.environ.setdefault("KINEMO_OFFLINE", "1")
    rows = []
    for k, v in enumerate(videos, 1):
        real = track_video(v)
        if isinstance(real, str):
            print(f"[{k}/{len(videos)}] {v.path.name}: skipped ({real})", flush=True)
            continue
        world = mocap.load_world(v.item)
        label = v.item.label
        got_real, got_proj = events(real, label, world), events(projected(v, real, *world, args.seed + k), label, world)
        row = {"file": v.path.name, "source": v.item.source, "label": v.item.label, "yaw": v.yaw,
               "tracked": float(np.mean(real.present)), "rendered": got_real, "projected": got_proj}
        for key, got in (("rendered", got_real), ("projected", got_proj)):
            found, false = score_item(v.item.label, v.item.also, got)
            row[f"{key}_found"], row[f"{key}_false"] = found, sum(false.values())
        rows.append(row)
        print(f"[{k}/{len(videos)}] {v.path.name}: rendered {got_real or '-'}; projected {got_proj or '-'}",
              flush=True)
    print(table(rows))
    out = args.renders / "render_eval.json"
    out.write_text(json.dumps(rows, indent=1))
    print(f"wrote {out}")
    return 0


def table(rows: list[dict]) -> str:
    lines = ["| label | view | files | found: MediaPipe on renders | found: projected joints | false / file: renders "
             "| false / file: projected |", "|---|---|---|---|---|---|---|"]
    def group(r: dict) -> str:  # the generator's takes apart from the motion files, by motion (a sweep is a wave)
        if r["source"] != "generator":
            return r["label"]
        return f"{mocap.generator_motion(parse(Path(r['file']), {}).item.path.name)} (generator)"

    groups = sorted({(group(r), r["yaw"]) for r in rows}, key=lambda g: ("generator" in g[0], g[0] == "negative", g))
    for label, yaw in [*groups, ("all", "all")]:
        mine = [r for r in rows if (label == "all" or group(r) == label) and (yaw == "all" or r["yaw"] == yaw)]
        cells = []
        for key in ("rendered", "projected"):
            hits = [r[f"{key}_found"] for r in mine if r[f"{key}_found"] is not None]
            cells.append((f"{sum(hits)} / {len(hits)}" if hits else "—", np.mean([r[f"{key}_false"] for r in mine])))
        lines.append(f"| {label} | {yaw} | {len(mine)} | {cells[0][0]} | {cells[1][0]} | {cells[0][1]:.2f} "
                     f"| {cells[1][1]:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
