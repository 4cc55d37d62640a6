// aiperf report: draws every chart of the page with uPlot from the JSON next to its figure.
// Hover shows the values under the cursor, drag zooms (double-click resets), clicking a legend
// entry hides or shows its series, charts with the same `sync` key share the cursor, and the
// theme button switches light and dark. No network access: everything is in this page.
(function () {
  'use strict';
  var root = document.documentElement;
  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#d62728', '#8c564b', '#e377c2', '#17becf'];
  var HIGHLIGHT = '#e5383b';
  var MUTED = '#9a9a9a';

  // The same rules as the exported charts: SI prefixes, ms above a second as s, few digits.
  function human(v, unit) {
    if (v == null || !isFinite(v)) return '–';
    return humanNumber(v, unit);
  }

  // Axis ticks: the number with its SI prefix; only short units (ms, s, W, %) are repeated on
  // every tick, longer ones are in the axis title.
  function tick(v, unit) {
    if (v == null || !isFinite(v)) return '';
    var short = unit === 'ms' || unit === 's' || unit === 'W' || unit === '%';
    if (unit === 'ms' || short) return humanNumber(v, unit);
    return humanNumber(v, '');
  }

  function humanNumber(v, unit) {
    if (unit === 'ms' && Math.abs(v) >= 1000) { v = v / 1000; unit = 's'; }
    var a = Math.abs(v), prefix = '';
    if (a >= 1e9) { v = v / 1e9; prefix = 'G'; } else if (a >= 1e6) { v = v / 1e6; prefix = 'M'; } else if (a >= 1e4) { v = v / 1e3; prefix = 'k'; }
    a = Math.abs(v);
    var s = a === 0 || a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
    if (s.indexOf('.') >= 0) s = s.replace(/0+$/, '').replace(/\.$/, '');
    s += prefix;
    if (!unit) return s;
    return unit === '%' ? s + '%' : s + ' ' + unit;
  }
  window.aiperfHuman = human;

  function css(name) { return getComputedStyle(root).getPropertyValue(name).trim(); }

  // uPlot wants one sorted x array shared by all series: every point of every series (and
  // confidence band) becomes one row, the other series null there; lines span the gaps.
  function align(spec) {
    var rows = [];
    var cols = 0;
    var layout = [];
    spec.series.forEach(function (s, i) {
      var col = cols++;
      var band = null;
      if (s.band) { band = [cols++, cols++]; }
      layout.push({ col: col, band: band });
      s.points.forEach(function (p, j) { rows.push({ x: p[0], col: col, y: p[1], label: (s.labels || [])[j] }); });
      (s.band || []).forEach(function (b) {
        rows.push({ x: b[0], col: band[0], y: b[1] });
        rows.push({ x: b[0], col: band[1], y: b[2] });
      });
    });
    rows.sort(function (a, b) { return a.x - b.x; });
    var xs = [];
    var data = [];
    var labels = [];
    for (var c = 0; c < cols; c++) { data.push([]); labels.push([]); }
    rows.forEach(function (r) {
      var last = xs.length - 1;
      // Rows at the same x share one slot unless that column is already taken there.
      if (last < 0 || xs[last] !== r.x || data[r.col][last] != null) {
        xs.push(r.x);
        for (var c = 0; c < cols; c++) { data[c].push(null); labels[c].push(null); }
        last++;
      }
      data[r.col][last] = r.y;
      labels[r.col][last] = r.label == null ? null : r.label;
    });
    return { xs: xs, data: data, labels: labels, layout: layout };
  }

  function seriesOptions(spec, aligned) {
    var out = [{ label: spec.x_label, value: function (u, v) { return human(v, spec.x_unit); } }];
    var hidden = [];
    spec.series.forEach(function (s, i) {
      var color = s.style === 'highlight' ? HIGHLIGHT : s.style === 'muted' ? MUTED : PALETTE[i % PALETTE.length];
      var line = s.style === 'line';
      var size = s.style === 'highlight' ? 11 : s.style === 'muted' ? 7 : s.style === 'points' ? 4 : 6;
      out.push({
        label: s.name || spec.y_label || 'value',
        stroke: color,
        width: line ? 2 : 0,
        spanGaps: true,
        paths: line ? undefined : function () { return null; },
        points: { show: true, size: size, fill: color, stroke: color },
        value: function (u, v) { return human(v, spec.y_unit); }
      });
      var band = aligned.layout[i].band;
      if (band) {
        ['low', 'high'].forEach(function (w) {
          hidden.push(out.length);
          out.push({ label: (s.name || 'value') + ' CI ' + w, stroke: color + '55', width: 1, spanGaps: true, points: { show: false },
            value: function (u, v) { return human(v, spec.y_unit); } });
        });
      }
    });
    return { series: out, hidden: hidden };
  }

  // Marker lines (thresholds, knees) and point labels, drawn over the series.
  function overlay(spec, aligned) {
    return function (u) {
      var ctx = u.ctx;
      var fg = css('--fg') || '#222';
      ctx.save();
      ctx.textAlign = 'left';
      ctx.textBaseline = 'alphabetic';
      ctx.font = Math.round(11 * devicePixelRatio) + 'px sans-serif';
      ctx.lineWidth = devicePixelRatio;
      (spec.vlines || []).forEach(function (v) {
        var x = u.valToPos(v[0], 'x', true);
        ctx.strokeStyle = fg; ctx.globalAlpha = 0.55; ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        ctx.globalAlpha = 1; ctx.fillStyle = fg; ctx.fillText(v[1], x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
      });
      (spec.hlines || []).forEach(function (h) {
        var y = u.valToPos(h[0], 'y', true);
        ctx.strokeStyle = HIGHLIGHT; ctx.setLineDash([6 * devicePixelRatio, 3 * devicePixelRatio]); ctx.lineWidth = 2 * devicePixelRatio;
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
        ctx.fillStyle = HIGHLIGHT; ctx.fillText(h[1], u.bbox.left + 4 * devicePixelRatio, y - 4 * devicePixelRatio);
      });
      ctx.setLineDash([]);
      ctx.fillStyle = fg;
      spec.series.forEach(function (s, i) {
        var col = aligned.layout[i].col;
        if (!s.labels || !u.series[col + 1].show) return;
        var ys = u.data[col + 1];
        var count = 0;
        ys.forEach(function (y) { if (y != null) count++; });
        if (count > 40) return;
        ys.forEach(function (y, j) {
          var label = aligned.labels[col][j];
          if (y == null || label == null) return;
          var x = u.data[0][j];
          if (x < u.scales.x.min || x > u.scales.x.max) return;
          var px = u.valToPos(x, 'x', true) + 7 * devicePixelRatio;
          var width = ctx.measureText(label).width;
          // Near the right edge the label goes to the left of its point.
          if (px + width > u.bbox.left + u.bbox.width) px -= width + 14 * devicePixelRatio;
          ctx.fillText(label, px, u.valToPos(y, 'y', true) - 5 * devicePixelRatio);
        });
      });
      ctx.restore();
    };
  }

  // The floating box with the values under the cursor (and the point's label, if any).
  function tooltip(fig, spec, aligned) {
    var tip = document.createElement('div');
    tip.className = 'tip';
    fig.appendChild(tip);
    return function (u) {
      var i = u.cursor.idx;
      if (i == null || u.cursor.left < 0) { tip.style.display = 'none'; return; }
      var lines = ['<b>' + escapeHtml(spec.x_label || 'x') + ': ' + human(u.data[0][i], spec.x_unit) + '</b>'];
      spec.series.forEach(function (s, k) {
        var col = aligned.layout[k].col;
        var su = u.series[col + 1];
        var y = u.data[col + 1][i];
        if (!su.show || y == null) return;
        var label = aligned.labels[col][i];
        lines.push('<span class="sw" style="background:' + su._stroke + '"></span>' + escapeHtml(su.label) + ': ' +
          human(y, spec.y_unit) + (label ? ' <span class="muted">(' + escapeHtml(label) + ')</span>' : ''));
      });
      if (lines.length < 2) { tip.style.display = 'none'; return; }
      tip.innerHTML = lines.join('<br>');
      tip.style.display = 'block';
      var over = u.over.getBoundingClientRect();
      var base = fig.getBoundingClientRect();
      var left = over.left - base.left + u.cursor.left + 14;
      if (left + tip.offsetWidth > base.width) left = left - tip.offsetWidth - 28;
      tip.style.left = left + 'px';
      tip.style.top = (over.top - base.top + Math.max(0, u.cursor.top - 10)) + 'px';
    };
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; });
  }

  function draw(fig) {
    var spec = JSON.parse(fig.querySelector('script.chart-spec').textContent);
    var aligned = align(spec);
    var so = seriesOptions(spec, aligned);
    var fg = css('--fg') || '#222';
    var grid = css('--grid') || '#ddd';
    var bands = [];
    spec.series.forEach(function (s, i) {
      var b = aligned.layout[i].band;
      if (b) bands.push({ series: [b[1] + 1, b[0] + 1], fill: (PALETTE[i % PALETTE.length]) + '33' });
    });
    var axis = function (unit, label, y) {
      var long = unit && !(unit === 'ms' || unit === 's' || unit === 'W' || unit === '%');
      var a = { label: long ? label + ' (' + unit + ')' : label, stroke: fg, grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid }, values: function (u, splits) { return splits.map(function (v) { return tick(v, unit); }); } };
      if (y) a.size = 64;
      // Label every tick asked for (uPlot blanks most ticks of a log axis by default).
      else a.filter = function (u, splits) { return splits; };
      return a;
    };
    var width = Math.max(320, fig.clientWidth || 900);
    var opts = {
      title: spec.title,
      width: width,
      height: Math.round(Math.min(420, width * 0.5)),
      series: so.series,
      bands: bands,
      scales: { x: { time: false, distr: spec.log_x ? 3 : 1 } },
      axes: [axis(spec.x_unit, spec.x_label, false), axis(spec.y_unit, spec.y_label, true)],
      cursor: { drag: { x: true, y: false, setScale: true }, sync: spec.sync ? { key: spec.sync } : undefined,
        points: { size: 9 } },
      legend: { live: true },
      hooks: { draw: [overlay(spec, aligned)], setCursor: [tooltip(fig, spec, aligned)] }
    };
    if (spec.log_x && aligned.xs.some(function (x) { return !(x > 0); })) opts.scales.x.distr = 1;
    // A few swept values (1, 2, 4, 8 …): a tick at each of them.
    var distinct = aligned.xs.filter(function (x, i, a) { return i === 0 || x !== a[i - 1]; });
    if (distinct.length <= 12 && spec.series.every(function (s) { return s.style !== 'points'; })) {
      opts.axes[0].splits = function (u) {
        return distinct.filter(function (x) { return x >= u.scales.x.min && x <= u.scales.x.max; });
      };
    }
    var data = [aligned.xs].concat(aligned.data);
    var plot = new uPlot(opts, data, fig);
    // The figure's children: spec, caption, then the chart: keep the caption last.
    var caption = fig.querySelector('figcaption');
    if (caption) fig.appendChild(caption);
    var rows = plot.root.querySelectorAll('.u-legend .u-series');
    so.hidden.forEach(function (i) { if (rows[i]) rows[i].style.display = 'none'; });
    var hint = document.createElement('div');
    hint.className = 'hint';
    hint.textContent = 'drag to zoom · double-click to reset · click a legend entry to hide or show it';
    fig.insertBefore(hint, caption);
    return { stem: fig.dataset.stem, title: spec.title, plot: plot };
  }

  function drawAll() {
    (window.aiperfCharts || []).forEach(function (c) { c.plot.destroy(); });
    document.querySelectorAll('figure.chart .tip, figure.chart .hint').forEach(function (e) { e.remove(); });
    var charts = [];
    document.querySelectorAll('figure.chart').forEach(function (fig) {
      try { charts.push(draw(fig)); } catch (e) {
        var p = document.createElement('p');
        p.className = 'note';
        p.textContent = 'chart not drawn: ' + e;
        fig.appendChild(p);
      }
    });
    window.aiperfCharts = charts;
    root.dataset.ready = '1';
  }

  function setTheme(theme) {
    root.dataset.theme = theme;
    drawAll();
  }

  var button = document.getElementById('theme-toggle');
  if (button) {
    button.addEventListener('click', function () { setTheme(root.dataset.theme === 'dark' ? 'light' : 'dark'); });
  }
  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      (window.aiperfCharts || []).forEach(function (c) {
        var fig = c.plot.root.parentNode;
        var w = Math.max(320, fig.clientWidth);
        c.plot.setSize({ width: w, height: Math.round(Math.min(420, w * 0.5)) });
      });
    }, 150);
  });
  drawAll();
})();
