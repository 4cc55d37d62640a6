#!/usr/bin/env bash
# Renders the report of a real sweep on the simulator in headless Chromium and checks it:
# no external URL in the file, every chart present in the rendered page, and a screenshot
# with content.
#
#   apt-get install chromium      # Debian; any Chromium or Chrome works (CHROMIUM=...)
#   cargo build --release -p aiperf
#   scripts/report_screenshot.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/aiperf}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome)}
out=${1:-$(mktemp -d)}
mkdir -p "$out"

"$BIN" profile --sim fixed --streaming --ui none --concurrency 1,2,4,8 --num-profile-runs 2 \
  --request-count 16 --osl 8 --auto-plot --artifact-dir "$out/sweep" > /dev/null
html="$out/sweep/plots/report.html"

if grep -Eq "(src|href)=[\"']https?://|url\\(https?://|@import" "$html"; then
  echo "FAIL: $html references an external URL" >&2
  exit 1
fi

flags=(--headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,4200)
"$CHROMIUM" "${flags[@]}" --dump-dom "file://$html" > "$out/dom.html" 2> /dev/null
charts=$(grep -o "<svg" "$out/dom.html" | wc -l)
if [ "$charts" -lt 4 ]; then
  echo "FAIL: the rendered page has $charts charts, expected at least 4" >&2
  exit 1
fi
"$CHROMIUM" "${flags[@]}" --screenshot="$out/report.png" "file://$html" 2> /dev/null
size=$(stat -c %s "$out/report.png")
if [ "$size" -lt 50000 ]; then
  echo "FAIL: the screenshot is nearly empty ($size bytes)" >&2
  exit 1
fi
echo "OK: $charts charts rendered, no external URL; screenshot $out/report.png ($size bytes)"
