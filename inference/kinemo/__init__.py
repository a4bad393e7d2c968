"""Kinemo companion service: camera, video and audio in; ARKit face streams out over OSC."""

__version__ = "0.1.0"
