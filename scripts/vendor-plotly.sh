#!/usr/bin/env bash
# Refresh the vendored plotly.js basic bundle (pddslib/paper/vendor/plotly) from the npm registry.
# The version must be the plotly.js that the pinned plotly (Python) writes figures for; the default
# reads it from the installed plotly (tests/test_explorer.py checks the two agree).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
version="${1:-$("$python" -c 'import plotly.offline as o; print(o.get_plotlyjs_version())')}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --loglevel=error "plotly.js-basic-dist-min@${version}" >/dev/null && tar xzf plotly.js-basic-dist-min-*.tgz)
dest="$here/pddslib/paper/vendor/plotly"
mkdir -p "$dest"
cp "$tmp/package/plotly-basic.min.js" "$tmp/package/LICENSE" "$dest/"
echo "vendored plotly.js-basic-dist-min $(node -p "require('$tmp/package/package.json').version") into $dest"
