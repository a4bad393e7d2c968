"""The Whisper encoder cut after its first blocks: built in memory from the pinned package's model file."""

import numpy as np
import pytest

from kinemo.errors import KinemoError
from kinemo.voice.ct2_model import BLOCKS, _layout, truncated_files, truncated_model, variable_names
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
    whole = WhisperEncoder().encode(audio.astype(np.float32))
    both = WhisperEncoder(blocks=(4, 3)).encode(audio.astype(np.float32))
    assert both.shape == (len(whole), 2 * DIM)
    np.testing.assert_array_equal(both[:, :DIM], whole)
    cut = both[:, DIM:]
    assert np.isfinite(cut).all()
    # the final layer norm is applied after the third block: each frame is normalised
    np.testing.assert_allclose(cut.std(axis=1), whole.std(axis=1), rtol=0.5)
    r = np.corrcoef(cut.ravel(), whole.ravel())[0, 1]
    assert 0.2 < r < 0.99  # related (same encoder) but not the same output
