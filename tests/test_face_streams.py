"""Issue-3 face streams on real faces: 68-point geometry, compact landmarks, expression, head pose."""

import cv2
import numpy as np
import pytest
from conftest import SHARED, require
from pythonosc.osc_packet import OscPacket

from kinemo import protocol
from kinemo.face.expression import action_units, classify, classify_rules
from kinemo.face.landmarks import MESH_TO_IBUG68, LandmarkPCA, Similarity, ibug68, nme, to_metric
from kinemo.face.tracker import FaceTracker, FaceTrackerOptions, choose_face
from kinemo.frame import Frame, encode_compact
from kinemo.osc_out import build_bundle


@pytest.fixture(scope="module")
def stills():
    from skimage import data

    tracker = FaceTracker.create_from_options(FaceTrackerOptions(video=False))
    out = {}
    sergey = cv2.cvtColor(cv2.imread(str(require(SHARED / "data" / "faces" / "sergey.png"))), cv2.COLOR_BGR2RGB)
    for name, rgb in (("astronaut", data.astronaut()), ("sergey", sergey)):
        frame = tracker.process_image(rgb)
        assert frame.present, name
        out[name] = (frame, rgb)
    tracker.close()
    return out


def test_68_point_mapping_geometry_on_real_faces(stills, grid_clips):
    frames = [f for f, _ in stills.values()]
    tracker = FaceTracker.create_from_options(FaceTrackerOptions(video=False))
    cap = cv2.VideoCapture(str(grid_clips[2]))
    ok, bgr = cap.read()
    frames.append(tracker.process_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    assert len(set(MESH_TO_IBUG68.tolist())) == 68
    for frame in frames:
        w, h = frame.image_size
        p = ibug68(frame.landmarks)[:, :2] * (w, h)
        jaw = p[:17]
        # Image-left to image-right (the sides are near vertical by the ears, hence the 1 px slack),
        # down to the chin at 8 and back up.
        assert np.all(np.diff(jaw[:, 0]) > -1.0) and jaw[16, 0] - jaw[0, 0] > 0.5 * w * np.ptp(frame.landmarks[:, 0])
        assert np.all(jaw[:8, 0] < jaw[8, 0]) and np.all(jaw[9:, 0] > jaw[8, 0])
        assert np.all(np.diff(jaw[:9, 1]) > 0) and np.all(np.diff(jaw[8:, 1]) < 0)
        assert np.argmax(jaw[:, 1]) == 8, "chin is the lowest jaw point"
        outer_lip = p[48:60]
        assert np.argmin(outer_lip[:, 0]) == 0 and np.argmax(outer_lip[:, 0]) == 6, "mouth corners at 48 and 54"
        assert p[51, 1] < p[57, 1] and p[62, 1] <= p[66, 1] + 1, "upper lip above lower lip"
        right_eye, left_eye = p[36:42], p[42:48]
        assert right_eye[:, 0].max() < left_eye[:, 0].min(), "subject's right eye is on the image left"
        assert p[36, 0] < p[39, 0] and p[42, 0] < p[45, 0], "eye corners ordered image-left to right"
        assert p[17:27, 1].mean() < p[36:48, 1].mean() < p[30, 1] < p[51, 1] < p[8, 1], "brows, eyes, nose, mouth, chin"
        assert np.all(np.diff(p[27:31, 1]) > 0), "nose bridge runs down to the tip"
        assert np.all(np.diff(p[31:36, 0]) > 0)


def test_compact_landmarks_fit_200_bytes_and_reconstruct(grid_clips):
    pca = LandmarkPCA.load()
    assert pca.size <= 20
    tracker = FaceTracker.create_from_options(FaceTrackerOptions())
    cap = cv2.VideoCapture(str(grid_clips[0]))
    errs = []
    for i in range(0, 20):
        ok, bgr = cap.read()
        frame = tracker.process_video_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), i * 40, seq=i)
        sample = protocol.FaceSample(seq=i, stamp=0.0, time=i / 25)
        sample.landmarks_pca = tuple(encode_compact(frame, pca).tolist())
        messages = protocol.encode_sample(sample)
        addr, types, args = next(m for m in messages if m[0] == protocol.ADDR_LANDMARKS_PCA)
        # The landmark stream's own message, as OSC bytes, is within 200 bytes.
        from pythonosc.osc_message_builder import OscMessageBuilder

        b = OscMessageBuilder(addr)
        for tag, v in zip(types, args, strict=True):
            b.add_arg(v, tag)
        assert len(b.build().dgram) <= 200
        # A receiver decodes the bundle and reconstructs the mesh in image space.
        packet = OscPacket(build_bundle(sample))
        decoded = [protocol.decode_message(m.message.address, tuple(m.message.params)) for m in packet.messages]
        values = np.array(next(u for u in decoded if u.address == protocol.ADDR_LANDMARKS_PCA).values)
        pose = Similarity.from_params(values[0], values[1:5], values[5:8])
        recon = pca.decode(values[8:], pose)
        truth = to_metric(frame.landmarks, *frame.image_size)
        errs.append(nme(recon, truth))
    assert np.mean(errs) < 2.0, errs  # % of inter-ocular distance


def test_smiling_astronaut_reads_happy_and_neutral_grid_faces_do_not(stills, grid_clips):
    frame, _ = stills["astronaut"]
    expr = classify(frame.blendshapes, frame.landmarks, frame.image_size)
    assert expr.label == "happy" and expr.score("happy") > 0.5
    assert classify_rules(frame.blendshapes).label == "happy"
    aus = dict(zip(protocol.ACTION_UNITS, action_units(frame.blendshapes), strict=True))
    assert aus[12] > 0.5  # lip-corner puller
    tracker = FaceTracker.create_from_options(FaceTrackerOptions(video=False))
    cap = cv2.VideoCapture(str(grid_clips[1]))
    ok, bgr = cap.read()
    grid = tracker.process_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert classify(grid.blendshapes, grid.landmarks, grid.image_size).label == "neutral"
    assert classify_rules(grid.blendshapes).label == "neutral"


def test_rule_set_prototypes():
    def bs(**kw):
        v = np.zeros(52, np.float32)
        for k, x in kw.items():
            v[protocol.ARKIT_INDEX[k]] = x
        return v

    assert classify_rules(bs()).label == "neutral"
    surprise = bs(browInnerUp=0.9, browOuterUpLeft=0.9, browOuterUpRight=0.9, eyeWideLeft=0.8, eyeWideRight=0.8,
                  jawOpen=0.7)
    assert classify_rules(surprise).label == "surprise"
    sad = bs(browInnerUp=0.8, browDownLeft=0.6, browDownRight=0.6, mouthFrownLeft=0.8, mouthFrownRight=0.8)
    assert classify_rules(sad).label == "sad"
    anger = bs(browDownLeft=0.9, browDownRight=0.9, eyeSquintLeft=0.8, eyeSquintRight=0.8, mouthRollLower=0.6,
               mouthRollUpper=0.6, mouthPressLeft=0.7, mouthPressRight=0.7)
    assert classify_rules(anger).label == "anger"
    scores = classify_rules(surprise).scores
    assert scores.sum() == pytest.approx(1.0) and len(scores) == len(protocol.EMOTIONS)


def test_head_pose_stream_has_degrees_translation_and_quaternion(stills):
    frame, _ = stills["sergey"]
    yaw, pitch, roll, x, y, z, *q = frame.head
    assert abs(yaw) < 25 and abs(pitch) < 25 and abs(roll) < 15  # a frontal portrait
    assert z < -10  # in front of the camera, in cm
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)


def test_largest_face_is_chosen_when_several_are_in_view(stills):
    _, astronaut = stills["astronaut"]
    face = astronaut[20:300, 110:390]
    canvas = np.full((640, 640, 3), 120, np.uint8)
    canvas[160:480, 300:620] = cv2.resize(face, (320, 320))
    canvas[240:400, 40:200] = cv2.resize(face, (160, 160))
    tracker = FaceTracker.create_from_options(FaceTrackerOptions(video=False, num_faces=2))
    frame = tracker.process_image(canvas)
    assert frame.present
    assert frame.landmarks[:, 0].min() > 0.5, "follows the big face on the right, not the small one"
    a = np.array([[0.1, 0.1, 0], [0.2, 0.2, 0]], np.float32)
    b = np.array([[0.4, 0.4, 0], [0.6, 0.6, 0]], np.float32)
    c = np.array([[0.7, 0.7, 0], [0.905, 0.905, 0]], np.float32)
    assert choose_face([a, b]) == 1  # larger
    assert choose_face([c, b]) == 1  # about as large, nearer the centre


def test_frame_to_sample_landmark_modes(stills):
    frame, _ = stills["sergey"]
    frame = Frame(seq=1, time=0.0, stamp=0.0, present=True, blendshapes=frame.blendshapes,
                  landmarks=frame.landmarks, image_size=frame.image_size)
    s68 = frame.to_sample("68")
    assert len(s68.landmarks68) == 136 and s68.landmarks is None
    assert len(frame.to_sample("478").landmarks) == 478 * 3
    assert frame.to_sample("none").landmarks68 is None
    assert len(build_bundle(frame.to_sample("pca", LandmarkPCA.load()))) <= 1472
    assert len(build_bundle(frame.to_sample("68"))) <= 1472
