"""Voice: speech → 52 ARKit blendshapes (and landmarks) with Kinemo's own small network.

``audio_io`` (files → 16 kHz blocks) and ``mic`` (live input) feed ``engine.VoiceAnimator``,
which runs ``features`` (log-mel) → ``net`` (ONNX, causal, bounded look-ahead) →
``smoothing`` → ``idle`` (optional blinks) into :class:`kinemo.frame.Frame`. ``visemes``
holds the phone → ARKit labelling rule the network was trained with (docs/voice-model.md).
"""

from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions

__all__ = ["VoiceAnimator", "VoiceAnimatorOptions"]
