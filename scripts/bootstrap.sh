#!/usr/bin/env bash
# Shared by scripts/scorebot and scripts/test: make .venv with the project installed.
# Usage: source scripts/bootstrap.sh EXTRAS   (e.g. "demo" or "dev")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-demo}"
python="${PYTHON:-python3}"

need_apt=()
command -v "$python" >/dev/null || need_apt+=(python3 python3-venv python3-pip)
if [ "$extras" = "dev" ]; then
    command -v node >/dev/null || need_apt+=(nodejs)
    command -v npm >/dev/null || need_apt+=(npm)
    # The speech tests: espeak-ng speaks Korean cues, sox mixes noise and changes rates,
    # PulseAudio with a virtual source stands in for a sound card behind ALSA and PortAudio.
    for package in espeak-ng sox pulseaudio libportaudio2 libasound2-plugins alsa-utils; do
        dpkg -s "$package" >/dev/null 2>&1 || need_apt+=("$package")
    done
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "Installing system packages: ${need_apt[*]}" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}"
fi

venv="$root/.venv"
stamp="$venv/.installed-$extras"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# Reinstall only when pyproject.toml changed since the last install of these extras.
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e "$root[$extras]"
    touch "$stamp"
fi
