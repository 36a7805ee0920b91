#!/usr/bin/env bash
# Refresh the vendored MathJax (book/_static/mathjax) from the npm registry.
set -euo pipefail
version="${1:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "mathjax@${version}" >/dev/null && tar xzf mathjax-*.tgz)
dest="$here/book/_static/mathjax"
rm -rf "$dest/output" "$dest/tex-chtml.js"
mkdir -p "$dest/output/chtml/fonts"
cp "$tmp/package/es5/tex-chtml.js" "$dest/"
cp -r "$tmp/package/es5/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "vendored mathjax $(node -p "require('$tmp/package/package.json').version") into $dest"
