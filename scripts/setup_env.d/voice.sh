#!/usr/bin/env bash
# System packages for the voice feature (kinemo audio / kinemo mic and its training scripts).
# Run by scripts/setup_env.sh; idempotent and fast once installed (one dpkg query).
#   ffmpeg            — the sound track of video files (kinemo audio clip.mp4), other codecs
#   libportaudio2     — microphone input (kinemo mic, via sounddevice)
#   espeak-ng, festival + voices — training data: speech with exact phone timing (scripts/voice_*.py)
set -euo pipefail
PKGS=(ffmpeg libportaudio2 espeak-ng festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=none; fi
if [ "$SUDO" = none ]; then
  echo "setup(voice): please install: apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "setup(voice): installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
