"""The pinned package's CTranslate2 model file: read as arrays (the one-pass graph's weights), and v2.6's
Whisper encoder cut after its first blocks, built in memory from it (the two-pass path kept to compare)."""

import numpy as np
import pytest

from kinemo.errors import KinemoError
from kinemo.voice.ct2_model import BLOCKS, _layout, arrays, truncated_files, truncated_model, variable_names
from kinemo.voice.whisper import DIM, WhisperEncoder, model_dir


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return (model_dir() / "model.bin").read_bytes()


def test_truncation_drops_exactly_the_later_encoder_blocks(model_bytes):
    full = variable_names(model_bytes)
    cut = variable_names(truncated_model(model_bytes, 3))
    assert [n for n in full if not n.startswith("encoder/layer_3/")] == cut
    assert any(n.startswith("encoder/layer_3/") for n in full)
    assert "encoder/layer_norm/gamma" in cut and any(n.startswith("decoder/") for n in cut)
    assert truncated_model(model_bytes, BLOCKS) == model_bytes


def test_bad_model_files_and_block_counts_say_what_is_wrong(model_bytes):
    with pytest.raises(KinemoError, match="blocks 1"):
        truncated_model(model_bytes, 0)
    with pytest.raises(KinemoError, match="version"):
        truncated_model(b"\x07\x00\x00\x00" + model_bytes[4:], 3)
    with pytest.raises(KinemoError, match="cut short"):
        truncated_model(model_bytes[:5000], 3)
    last_stop = _layout(model_bytes)[1][-1][2]  # a file cut inside its last variable's bytes
    with pytest.raises(KinemoError, match="cut short"):
        truncated_model(model_bytes[:last_stop - 10], 3)


def test_cut_encoder_gives_other_features_than_the_whole_one_side_by_side():
    files = truncated_files(model_dir(), 2)
    assert {"model.bin", "config.json"} <= set(files)
    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    audio = (0.2 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0) + 0.01 * rng.standard_normal(len(t)))
    whole = WhisperEncoder(backend="ctranslate2").encode(audio.astype(np.float32))
    both = WhisperEncoder(blocks=(4, 3), backend="ctranslate2").encode(audio.astype(np.float32))
    assert both.shape == (len(whole), 2 * DIM)
    np.testing.assert_array_equal(both[:, :DIM], whole)
    cut = both[:, DIM:]
    assert np.isfinite(cut).all()
    # the final layer norm is applied after the third block: each frame is normalised
    np.testing.assert_allclose(cut.std(axis=1), whole.std(axis=1), rtol=0.5)
    r = np.corrcoef(cut.ravel(), whole.ravel())[0, 1]
    assert 0.2 < r < 0.99  # related (same encoder) but not the same output


def test_encoder_variables_read_as_arrays_in_their_stored_type(model_bytes):
    v = arrays(model_bytes)
    assert v["conv1/weight"].shape == (DIM, 80, 3) and v["conv1/weight"].dtype == np.float16
    assert v["layer_3/ffn/linear_0/weight"].shape == (4 * DIM, DIM)
    assert v["layer_0/self_attention/linear_0/weight"].shape == (3 * DIM, DIM)  # queries, keys, values
    assert v["position_encodings/encodings"].shape == (1500, DIM)
    assert int(v["num_heads"]) == 6
    assert not any(name.startswith("decoder") for name in v)
    assert {n[len("encoder/"):] for n in variable_names(model_bytes) if n.startswith("encoder/")} == set(v)
    assert all(np.isfinite(a.astype(np.float32)).all() for a in v.values())


def test_a_bad_backend_or_block_says_what_is_wrong():
    with pytest.raises(KinemoError, match="backend"):
        WhisperEncoder(backend="torch")
    with pytest.raises(KinemoError, match="blocks 1"):
        WhisperEncoder(blocks=(5,))
