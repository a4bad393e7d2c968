"""Moved to :mod:`kinemo.face.landmarks`; this name stays for the voice code and scripts that import it."""

import sys

from kinemo.face import landmarks as _landmarks

sys.modules[__name__] = _landmarks
