"""Body actions as keyed bone Actions: the one keying loop the demo's rigs share.

Each action is a new Action with a fake user, keyed bone by bone from ``channels_of(label)``
(``{bone: {"rot": [(frame, rotation)], "loc": [(frame, xyz)]}}``); the rig is left in its rest
pose with no Action assigned, so the NLA decides what plays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def key_actions(bpy, rig, labels: Iterable[str], channels_of: Callable[[str], dict], rotation: str) -> list:
    """One Action per label; ``rotation`` is the pose bones' mode: ``"quaternion"`` or ``"euler"`` (radians)."""
    attr = f"rotation_{rotation}"
    rest = (1.0, 0.0, 0.0, 0.0) if rotation == "quaternion" else (0.0, 0.0, 0.0)
    rig.animation_data_create()
    made = []
    for label in labels:
        action = bpy.data.actions.new(label)
        action.use_fake_user = True
        rig.animation_data.action = action
        for bone_name, channels in channels_of(label).items():
            pb = rig.pose.bones[bone_name]
            for frame, value in channels.get("rot", []):
                setattr(pb, attr, value)
                pb.keyframe_insert(attr, frame=frame, group=bone_name)
            for frame, value in channels.get("loc", []):
                pb.location = value
                pb.keyframe_insert("location", frame=frame, group=bone_name)
            setattr(pb, attr, rest)
            pb.location = (0, 0, 0)
        made.append(action)
    rig.animation_data.action = None
    for pb in rig.pose.bones:
        setattr(pb, attr, rest)
        pb.location = (0, 0, 0)
    return made
