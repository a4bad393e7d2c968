"""Body: MediaPipe pose → an action classifier over a sliding window → action events.

Heavy parts (MediaPipe, onnxruntime) load only when used, so importing this package is cheap.
"""
