#!/usr/bin/env bash
# Screenshots of `aiperf plot`'s report in headless Chromium, for the docs and for a look at
# the page as a browser draws it. Makes each kind of report on the simulator (a run, a sweep
# with trials, a search, a comparison of two runs, and the sweep in the dark theme), then
# writes the top of each page as PNG, plus one with the mouse over a chart (tooltip and linked
# cursors showing). Builds nothing itself; takes under a minute (the simulator runs in real
# time). The checks of the page itself (no network request, charts drawn, hover, legend,
# theme) are `cargo test -p aiperf --test it report_browser`.
#
#   apt-get install chromium      # Debian; any Chromium or Chrome works (CHROMIUM=...)
#   cargo build --release -p aiperf
#   scripts/report_screenshot.sh [OUTPUT_DIR]
#
# Environment: BIN (default target/release/aiperf, or target/debug/aiperf where that is the
# only or the more recent build), CHROMIUM, SIZE (the window, default 1280,1600).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then
  BIN=target/release/aiperf
  # The debug build where there is no release build, or where it is the more recent one.
  if [ ! -x "$BIN" ] || [ target/debug/aiperf -nt "$BIN" ]; then
    BIN=target/debug/aiperf
  fi
fi
if [ ! -x "$BIN" ]; then
  echo "error: no aiperf binary at $BIN: run cargo build --release -p aiperf (or set BIN)" >&2
  exit 2
fi
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$CHROMIUM" ]; then
  echo "error: no Chromium found: apt-get install chromium (or set CHROMIUM)" >&2
  exit 2
fi
SIZE=${SIZE:-1280,1600}
BIN=$(realpath "$BIN")
out=$(realpath -m "${1:-$(mktemp -d)}")
mkdir -p "$out"
results="$out/results"
rm -rf "$results"
mkdir -p "$results"
# The results are named relative to their directory: the reports' headers show short names.
cd "$results"

profile() { # DIR ARGS...: one benchmark on the simulator
  local dir=$1
  shift
  "$BIN" profile --ui none --streaming --artifact-dir "$dir" "$@" > /dev/null 2>&1 \
    || { echo "error: aiperf profile $* failed (see $results/$dir)" >&2; exit 1; }
}

plot() { # NAME [plot ARGS...] PATHS...: the report in $results/NAME-report
  local name=$1
  shift
  "$BIN" plot --output "$name-report" "$@" > /dev/null \
    || { echo "error: aiperf plot $* failed" >&2; exit 1; }
  echo "$results/$name-report/report.html"
}

# Chromium, quiet (no background requests, no first-run UI), charts drawn before the shot.
shoot() { # PAGE PNG
  local profile_dir
  profile_dir=$(mktemp -d)
  "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --disable-background-networking --disable-component-update --no-first-run --disable-sync \
    --disable-default-apps --metrics-recording-only --disable-extensions \
    --user-data-dir="$profile_dir" --window-size="$SIZE" --virtual-time-budget=10000 \
    --screenshot="$2" "file://$1" > /dev/null 2>&1
  rm -rf "$profile_dir"
  [ -s "$2" ] || { echo "error: Chromium wrote no screenshot of $1" >&2; exit 1; }
  echo "$2"
}

# The report with the mouse on a point of its first chart: a copy of the page with a script
# that leaves out what comes before that chart (the shot shows the top of the page) and sends
# uPlot the mousemove a hand would.
hovered() { # PAGE COPY
  local hover='<script>(function () {
  var c = (window.aiperfCharts || [])[0];
  if (!c) return;
  var u = c.plot;
  for (var e = u.root.parentNode; e && e !== document.body; e = e.parentNode) {
    for (var p = e.previousElementSibling; p; p = p.previousElementSibling) p.style.display = "none";
  }
  var s = 1, ys = u.data[s], idx = [];
  ys.forEach(function (y, i) { if (y != null) idx.push(i); });
  var i = idx[Math.floor(idx.length * 0.6)];
  var r = u.over.getBoundingClientRect();
  var at = { bubbles: true, clientX: r.left + u.valToPos(u.data[0][i], "x"), clientY: r.top + u.valToPos(ys[i], "y") };
  u.over.dispatchEvent(new MouseEvent("mouseenter", at));
  u.over.dispatchEvent(new MouseEvent("mousemove", at));
})();</script>'
  local html
  html=$(cat "$1")
  printf '%s%s</body>%s\n' "${html%</body>*}" "$hover" "${html##*</body>}" > "$2"
}

echo "making the results on the simulator (under a minute) under $results" >&2
common=(--isl 512 --osl 64)
profile run --sim llama-8b-h100 --concurrency 8 --request-count 120 "${common[@]}"
profile run-70b --sim llama-70b-h100x4 --concurrency 8 --request-count 60 "${common[@]}"
profile sweep --sim llama-8b-h100 --concurrency 1,4,16 --num-profile-runs 2 --request-count 16 \
  --isl 512 --osl 32
profile search --sim --osl 8 --isl 64 --search-recipe max-concurrency-under-sla \
  --ttft-sla-ms 60 --concurrency-max 32

run_html=$(plot run run)
sweep_html=$(plot sweep sweep)
search_html=$(plot search search)
compare_html=$(plot compare run run-70b)
dark_html=$(plot sweep-dark --theme dark sweep)

for page in "$run_html" "$sweep_html" "$search_html" "$compare_html" "$dark_html"; do
  if grep -Eiq "(src|href)=[\"']?(https?:)?//|url\\([\"']?(https?:)?//|@import" "$page"; then
    echo "error: $page references the network" >&2
    exit 1
  fi
done

shoot "$run_html" "$out/report-run.png"
shoot "$sweep_html" "$out/report-sweep.png"
shoot "$search_html" "$out/report-search.png"
shoot "$compare_html" "$out/report-compare.png"
shoot "$dark_html" "$out/report-dark.png"
hovered "$run_html" "$results/run-report/hovered.html"
shoot "$results/run-report/hovered.html" "$out/report-hover.png"
