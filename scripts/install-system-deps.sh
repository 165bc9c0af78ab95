#!/usr/bin/env bash
# Installs what the kit needs outside Python: Debian's chromium and poppler-utils (offline PDF
# export and its tests), chromium-driver (the marking page's browser tests, through Selenium) and
# MathJax 3 from npm (math in PDFs and on the marking page, no CDN); on a bare Debian image also
# python3 with venv, npm and ca-certificates. The grading sandbox needs no
# package: it makes its own namespaces (docs/architecture.md).
# Safe to re-run: each part is skipped when already present.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(chromium chromium-driver poppler-utils dataset-fashion-mnist)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# What a bare Debian image lacks (the grading image, examples/cluster/Dockerfile): Python with venv,
# npm, and the certificates pip and npm need. A machine that has them, however installed, keeps them.
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3 python3-venv)
command -v npm >/dev/null || missing+=(npm)
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    echo "Installing Debian packages: ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

mathjax=.deps/node_modules/mathjax/es5/tex-svg-full.js
if [ ! -f "$mathjax" ]; then
    echo "Installing MathJax 3 from npm into .deps/"
    npm install --silent --no-audit --no-fund --prefix .deps mathjax@3 >/dev/null
fi
test -f "$mathjax"
