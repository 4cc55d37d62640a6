// The report as `aiperf plot --dashboard` serves it: every two seconds the page asks the
// server for the stamp of the results (GET /stamp); when it differs from the stamp the page
// was built with (<html data-stamp>), the page reloads, keeping what the reader had set: the
// scroll position, the theme and the series hidden in each chart's legend. A badge in the
// corner says whether the page is live or the server has stopped.
(function () {
  'use strict';

  const root = document.documentElement;
  const built = root.dataset.stamp || '';
  const every = 2000;
  const key = 'aiperf-live-scroll:' + location.pathname;
  const loaded = clock(new Date());
  let badge = null;

  function clock(date) {
    const two = (n) => String(n).padStart(2, '0');
    return two(date.getHours()) + ':' + two(date.getMinutes()) + ':' + two(date.getSeconds());
  }

  function show(live) {
    if (!badge) {
      return;
    }
    badge.dataset.state = live ? 'live' : 'stopped';
    badge.textContent = live ? 'live \u00b7 updated ' + loaded : 'server stopped';
    badge.style.borderColor = live ? 'var(--fg)' : 'var(--muted)';
    badge.style.color = live ? 'var(--fg)' : 'var(--muted)';
  }

  function addBadge() {
    badge = document.createElement('div');
    badge.className = 'live-badge';
    badge.setAttribute('role', 'status');
    badge.title = 'The page reloads when the results change';
    Object.assign(badge.style, {
      position: 'fixed',
      right: '12px',
      bottom: '12px',
      zIndex: '1000',
      padding: '3px 10px',
      borderRadius: '12px',
      border: '1px solid var(--muted)',
      background: 'var(--bg)',
      color: 'var(--fg)',
      font: '12px/1.5 sans-serif',
      opacity: '0.92',
      pointerEvents: 'none',
    });
    document.body.appendChild(badge);
    show(true);
  }

  // What the reader had set before the reload: the theme, the series hidden per chart (by
  // the chart's stem and the series' label) and the scroll position.
  function remember() {
    const hidden = {};
    (window.aiperfCharts || []).forEach((chart) => {
      const off = chart.plot.series
        .filter((s, i) => i > 0 && s.show === false)
        .map((s) => s.label);
      if (off.length) {
        hidden[chart.stem] = off;
      }
    });
    const view = { y: window.scrollY, theme: root.dataset.theme, hidden: hidden };
    try {
      sessionStorage.setItem(key, JSON.stringify(view));
    } catch (e) {
      // Storage refused (private mode): reload as the page comes.
    }
  }

  function recall() {
    try {
      const saved = sessionStorage.getItem(key);
      sessionStorage.removeItem(key);
      return saved ? JSON.parse(saved) : null;
    } catch (e) {
      return null;
    }
  }

  // Applied once the charts are drawn (the page is shorter until then).
  function restore() {
    const view = recall();
    if (!view) {
      return;
    }
    const started = Date.now();
    const apply = () => {
      const charts = document.querySelectorAll('figure.chart').length;
      const drawn = charts === 0 || root.dataset.ready === '1';
      if (!drawn && Date.now() - started < 5000) {
        setTimeout(apply, 50);
        return;
      }
      const toggle = document.getElementById('theme-toggle');
      if (view.theme && view.theme !== root.dataset.theme) {
        if (toggle) {
          toggle.click();
        } else {
          root.dataset.theme = view.theme;
        }
      }
      (window.aiperfCharts || []).forEach((chart) => {
        const off = (view.hidden || {})[chart.stem] || [];
        chart.plot.series.forEach((s, i) => {
          if (i > 0 && off.indexOf(s.label) >= 0) {
            chart.plot.setSeries(i, { show: false });
          }
        });
      });
      if (Number.isFinite(view.y)) {
        window.scrollTo(0, view.y);
      }
    };
    apply();
  }

  function reload() {
    remember();
    location.reload();
  }

  async function poll() {
    try {
      const response = await fetch('/stamp', { cache: 'no-store' });
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      const stamp = (await response.text()).trim();
      if (stamp !== built) {
        reload();
        return;
      }
      show(true);
    } catch (e) {
      show(false);
    }
    setTimeout(poll, every);
  }

  function start() {
    if ('scrollRestoration' in history) {
      history.scrollRestoration = 'manual';
    }
    addBadge();
    restore();
    setTimeout(poll, every);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
