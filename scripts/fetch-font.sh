#!/usr/bin/env bash
# Reproduces internal/pdf/fonts/: the CJK font embedded in every PDF kaowu
# renders (admission tickets, registration forms, certificates).
#
#   Noto Sans SC Regular (TrueType, glyf outlines), SIL OFL 1.1, taken from the
#   npm package @expo-google-fonts/noto-sans-sc@0.4.3 (file
#   400Regular/NotoSansSC_400Regular.ttf, Google Fonts v40), with the
#   package's LICENSE_FONT as OFL.txt.
#
# Why this font: gopdf needs a single TrueType font (not a .ttc collection,
# not CFF-flavoured .otf) that has ASCII and the rare characters found in
# names (堃 喆 珺 赟). The Debian CJK fonts are .ttc/.otf only.
#
# Usage: scripts/fetch-font.sh   (needs npm, tar, sha256sum)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/internal/pdf/fonts"
pkg="@expo-google-fonts/noto-sans-sc@0.4.3"
want_sha=d45f67f0a7c0ca3f256950777ce6a61cc7ce5f9696d02900cbbaac25f8aa7d16

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$work"/expo-google-fonts-noto-sans-sc-0.4.3.tgz -C "$work" \
	package/400Regular/NotoSansSC_400Regular.ttf package/LICENSE_FONT

got_sha=$(sha256sum "$work/package/400Regular/NotoSansSC_400Regular.ttf" | cut -d' ' -f1)
if [ "$got_sha" != "$want_sha" ]; then
	echo "fetch-font: sha256 mismatch: got $got_sha, want $want_sha" >&2
	exit 1
fi

mkdir -p "$dest"
install -m 0644 "$work/package/400Regular/NotoSansSC_400Regular.ttf" "$dest/NotoSansSC-Regular.ttf"
install -m 0644 "$work/package/LICENSE_FONT" "$dest/OFL.txt"
echo "fetch-font: wrote $dest/NotoSansSC-Regular.ttf and $dest/OFL.txt" >&2
