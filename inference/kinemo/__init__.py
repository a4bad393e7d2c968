"""Kinemo companion service: camera, video and audio in; ARKit face streams out over OSC."""

import os

# Our numpy work is many tiny per-frame products; BLAS threads only fight the trackers for cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
