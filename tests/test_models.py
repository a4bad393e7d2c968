"""Model store: local lookups, and the downloader against a real HTTP server on 127.0.0.1."""

import dataclasses
import http.server
import socket
import threading

import pytest
from conftest import run_kinemo

from kinemo import models


@pytest.fixture(scope="module")
def model_bytes(face_model):
    return face_model.read_bytes()


@pytest.fixture
def server(model_bytes):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path.endswith("/good/face_landmarker.task"):
                body = model_bytes
            elif self.path.endswith("/corrupt/face_landmarker.task"):
                body = bytearray(model_bytes)
                body[len(body) // 2] ^= 0xFF
                body = bytes(body)
            elif self.path.endswith("/truncated/face_landmarker.task"):
                self.send_response(200)
                self.send_header("Content-Length", str(len(model_bytes)))
                self.end_headers()
                self.wfile.write(model_bytes[: len(model_bytes) // 3])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def empty_store(tmp_path, monkeypatch):
    monkeypatch.delenv("KINEMO_MODEL_DIR", raising=False)
    monkeypatch.setenv("KINEMO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_good_download_is_verified_and_cached(server, empty_store):
    path = models.resolve(models.FACE_LANDMARKER, url=f"{server}/good/face_landmarker.task",
                          allow_download=True, progress=False)
    assert path == empty_store / "face_landmarker.task"
    assert models.sha256_of(path) == models.FACE_LANDMARKER.sha256
    # Second time: found in the cache, no network needed.
    assert models.resolve(models.FACE_LANDMARKER, allow_download=False) == path
    assert [p.name for p in empty_store.iterdir()] == ["face_landmarker.task"]  # no temp files left


@pytest.mark.parametrize("kind, words", [("corrupt", "checksum"), ("truncated", "")])
def test_bad_downloads_are_rejected_and_not_cached(server, empty_store, kind, words):
    with pytest.raises(models.ModelError) as err:
        models.resolve(models.FACE_LANDMARKER, url=f"{server}/{kind}/face_landmarker.task",
                       allow_download=True, progress=False)
    assert words in str(err.value)
    assert "not cached" in str(err.value) or "broke off" in str(err.value)
    assert not empty_store.exists() or list(empty_store.iterdir()) == []


def test_server_down_gives_clear_error(empty_store):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(models.ModelError) as err:
        models.resolve(models.FACE_LANDMARKER, url=f"http://127.0.0.1:{port}/face_landmarker.task",
                       allow_download=True, progress=False)
    msg = str(err.value)
    assert "could not download" in msg and "--model" in msg and "\n" not in msg


def test_damaged_cache_file_is_replaced(server, empty_store):
    empty_store.mkdir(parents=True)
    (empty_store / "face_landmarker.task").write_bytes(b"junk")
    path = models.resolve(models.FACE_LANDMARKER, url=f"{server}/good/face_landmarker.task",
                          allow_download=True, progress=False)
    assert models.sha256_of(path) == models.FACE_LANDMARKER.sha256


def test_lookup_order(tmp_path, monkeypatch, face_model, empty_store):
    explicit = tmp_path / "mine.task"
    explicit.write_bytes(b"x")
    monkeypatch.setenv("KINEMO_MODEL_DIR", str(face_model.parent))
    assert models.resolve(models.FACE_LANDMARKER, explicit) == explicit
    assert models.resolve(models.FACE_LANDMARKER) == face_model
    with pytest.raises(models.ModelError, match="not found"):
        models.resolve(models.FACE_LANDMARKER, tmp_path / "missing.task")


def test_offline_without_file_says_how_to_provide_it(empty_store):
    with pytest.raises(models.ModelError) as err:
        models.resolve(models.FACE_LANDMARKER, allow_download=False)
    msg = str(err.value)
    assert models.FACE_LANDMARKER.url in msg and "KINEMO_MODEL_DIR" in msg and "\n" not in msg


def test_cli_download_through_mirror_with_progress(server, tmp_path):
    env = {"KINEMO_CACHE_DIR": str(tmp_path / "c"), "KINEMO_MODEL_MIRROR": f"{server}/good",
           "PATH": "/usr/bin:/bin"}
    r = run_kinemo("models", "fetch", env=env)
    assert r.returncode == 0, r.stderr
    assert "100%" in r.stderr
    assert (tmp_path / "c" / "face_landmarker.task").is_file()
    r = run_kinemo("models", "where", env={**env, "KINEMO_OFFLINE": "1"})
    assert r.stdout.strip() == str(tmp_path / "c" / "face_landmarker.task")


def test_cli_offline_without_model_is_one_line(tmp_path, grid_clips):
    env = {"KINEMO_CACHE_DIR": str(tmp_path / "c"), "KINEMO_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    r = run_kinemo("video", str(grid_clips[0]), "--no-osc", "-q", env=env)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kinemo: error:") and "face_landmarker.task" in lines[0]


def test_spec_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        models.FACE_LANDMARKER.url = "http://evil"
