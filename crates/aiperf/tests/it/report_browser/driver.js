// Test driver, appended to a copy of report.html by tests/it/report_browser.rs and run in
// headless Chromium. It uses the page the way a person does, through the page's own scripts:
// hovers a data point of every chart (real mousemove events on uPlot's overlay), clicks legend
// entries, checks linked cursors, switches the theme. What it sees goes into
// <pre id="driver-result"> as base64 JSON, read back from Chromium's --dump-dom output.
(function () {
  'use strict';
  var root = document.documentElement;
  var out = { ready: false, theme: root.dataset.theme, charts: [], errors: [] };

  function later(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms || 0); }); }

  function rgb(hex) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(hex || '');
    return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : null;
  }

  // What the chart's canvas holds: painted pixels, distinct colours (5 bits a channel), the
  // mean luminance of the opaque ones (grid, axes, series; not the translucent bands), and for
  // each colour of `near` how many opaque pixels are (nearly) of it.
  function pixels(plot, near) {
    var canvas = plot.ctx.canvas;
    var data = plot.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    var painted = 0, opaque = 0, light = 0, colours = {};
    var counts = (near || []).map(function () { return 0; });
    for (var i = 0; i < data.length; i += 4) {
      var a = data[i + 3];
      if (a === 0) continue;
      painted++;
      colours[(data[i] >> 3) << 10 | (data[i + 1] >> 3) << 5 | (data[i + 2] >> 3)] = 1;
      if (a < 200) continue;
      opaque++;
      light += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      (near || []).forEach(function (c, k) {
        if (c && Math.abs(data[i] - c[0]) + Math.abs(data[i + 1] - c[1]) + Math.abs(data[i + 2] - c[2]) < 40) counts[k]++;
      });
    }
    return {
      total: canvas.width * canvas.height, painted: painted, colours: Object.keys(colours).length,
      luminance: opaque ? light / opaque : 0, near: counts
    };
  }

  function specOf(plot) {
    var fig = plot.root.parentNode;
    return JSON.parse(fig.querySelector('script.chart-spec').textContent);
  }

  function mouse(plot, type, x, y) {
    var rect = plot.over.getBoundingClientRect();
    plot.over.dispatchEvent(new MouseEvent(type, {
      bubbles: type !== 'mouseenter' && type !== 'mouseleave', cancelable: true, view: window,
      clientX: rect.left + x, clientY: rect.top + y
    }));
  }

  // Moves the mouse onto the middle data point of the first series that has one.
  function hover(plot) {
    for (var s = 1; s < plot.series.length; s++) {
      var ys = plot.data[s];
      var idxs = [];
      ys.forEach(function (y, i) { if (y != null) idxs.push(i); });
      if (!idxs.length) continue;
      var i = idxs[Math.floor(idxs.length / 2)];
      var x = plot.valToPos(plot.data[0][i], 'x');
      var y = plot.valToPos(ys[i], 'y');
      mouse(plot, 'mouseenter', x, y);
      mouse(plot, 'mousemove', x, y);
      return { series: s, index: i, x: plot.data[0][i], y: ys[i] };
    }
    return null;
  }

  function legendLabel(plot, i) {
    var row = plot.root.querySelectorAll('.u-legend .u-series')[i];
    return row ? row.querySelector('th') || row : null;
  }

  function click(el) {
    el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, view: window, button: 0 }));
  }

  async function chart(entry, all) {
    var plot = entry.plot;
    var spec = specOf(plot);
    var fig = plot.root.parentNode;
    var r = {
      stem: entry.stem,
      title: entry.title,
      sync: spec.sync || null,
      // The x axis' tick labels as drawn.
      x_ticks: (plot.axes[0]._values || []).map(String),
      series: []
    };
    var strokes = [];
    for (var s = 1; s < plot.series.length; s++) {
      strokes.push(rgb(plot.series[s]._stroke));
      r.series.push({ label: plot.series[s].label, values: plot.data[s].filter(function (v) { return v != null; }).length });
    }
    r.pixels = pixels(plot, strokes);
    // Pixels in each series' colour: its points and lines were drawn.
    r.series.forEach(function (x, k) { x.drawn = r.pixels.near[k]; });
    delete r.pixels.near;
    var others = all.filter(function (o) { return o !== entry && spec.sync && specOf(o.plot).sync === spec.sync; });
    var before = others.map(function (o) { return o.plot.cursor.left; });
    r.hovered = hover(plot);
    await later(20);
    var tip = fig.querySelector('.tip');
    r.cursor = { idx: plot.cursor.idx, left: plot.cursor.left };
    r.tip = tip ? { display: getComputedStyle(tip).display, text: tip.textContent } : null;
    r.synced = others.map(function (o, k) { return { stem: o.stem, before: before[k], after: o.plot.cursor.left }; });
    mouse(plot, 'mouseleave', -10, -10);
    await later(20);
    r.left_after_leave = plot.cursor.left;
    var label = legendLabel(plot, 1);
    if (label) {
      var shown = [plot.series[1].show];
      click(label);
      await later(20);
      shown.push(plot.series[1].show);
      r.off_class = label.closest('.u-series').classList.contains('u-off');
      click(label);
      await later(20);
      shown.push(plot.series[1].show);
      r.toggle = shown;
    }
    return r;
  }

  async function theme() {
    var before = window.aiperfCharts.slice();
    var from = root.dataset.theme;
    var button = document.getElementById('theme-toggle');
    if (!button) return { error: 'no #theme-toggle' };
    var lum = function (charts) { return charts.map(function (c) { return Math.round(pixels(c.plot, null).luminance); }); };
    var r = { from: from, count_before: before.length, luminance_before: lum(before) };
    click(button);
    await later(50);
    var now = window.aiperfCharts;
    r.to = root.dataset.theme;
    r.count_after = now.length;
    r.new_plots = now.every(function (c, i) { return before[i] && c.plot !== before[i].plot; });
    // Axes, ticks and grid are drawn in the theme's colours: the canvases get darker or lighter.
    r.luminance_after = lum(now);
    click(button);
    await later(50);
    r.back = root.dataset.theme;
    return r;
  }

  async function main() {
    for (var t = 0; t < 100 && root.dataset.ready !== '1'; t++) await later(50);
    out.ready = root.dataset.ready === '1';
    var charts = window.aiperfCharts || [];
    out.figures = document.querySelectorAll('figure.chart').length;
    out.notes = Array.prototype.map.call(document.querySelectorAll('.note'), function (n) { return n.textContent; });
    for (var i = 0; i < charts.length; i++) {
      try { out.charts.push(await chart(charts[i], charts)); } catch (e) {
        out.errors.push((charts[i].stem || i) + ': ' + e);
      }
    }
    try { out.theme_toggle = await theme(); } catch (e) { out.errors.push('theme: ' + e); }
  }

  function finish() {
    var pre = document.createElement('pre');
    pre.id = 'driver-result';
    pre.textContent = btoa(unescape(encodeURIComponent(JSON.stringify(out))));
    document.body.appendChild(pre);
  }

  window.addEventListener('error', function (e) { out.errors.push('page error: ' + e.message); });
  main().catch(function (e) { out.errors.push('driver: ' + e); }).then(finish);
})();
