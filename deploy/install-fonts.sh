#!/usr/bin/env bash
# Installs what the monthly report's renderers need from Debian:
#   - a CJK font for the charts, the HTML and the PDF (fonts-noto-cjk; fonts-wqy-microhei as a fallback),
#   - poppler-utils (pdftoppm/pdftotext) used by the report tests to look at the PDF.
# Idempotent: does nothing when everything is already there. Called by the Makefile (`make fonts`).
set -euo pipefail

have_font() {
    # Not `fc-list | grep -q`: grep quits at the first match, fc-list dies of SIGPIPE and
    # pipefail calls the pipeline failed. Each file is tested alone (one `ls` of several paths fails
    # when any one of them is missing).
    local listed f
    listed="$(fc-list 2>/dev/null || true)"
    grep -qiE 'NotoSansCJK|NotoSerifCJK|wqy-microhei|WenQuanYi' <<<"$listed" && return 0
    for f in /usr/share/fonts/opentype/noto/NotoSansCJK-*.tt[cf] /usr/share/fonts/truetype/wqy/wqy-microhei.ttc; do
        [ -f "$f" ] && return 0
    done
    return 1
}
have_poppler() { command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; }

if have_font && have_poppler; then
    echo "install-fonts: CJK font and poppler-utils already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-fonts: run as root (or install sudo)" >&2; exit 1; }
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
pkgs="fontconfig poppler-utils"
if ! have_font; then
    if apt-cache show fonts-noto-cjk >/dev/null 2>&1; then
        pkgs="$pkgs fonts-noto-cjk"
    else
        pkgs="$pkgs fonts-wqy-microhei"
    fi
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $pkgs
fc-cache -f >/dev/null 2>&1 || true
have_font || { echo "install-fonts: no CJK font found after installing $pkgs" >&2; exit 1; }
echo "install-fonts: done ($pkgs)"
