// Keel dashboard: live charts and tables. The page works without this
// script (server-rendered tables, refreshed by a meta refresh inside
// <noscript>); with it, the page polls the JSON API once per sample and draws
// every history series it finds there with uPlot, and swaps in freshly
// rendered tables without reloading, so focus, scroll and charts stay put.
// It loads nothing from outside the service and writes nothing to the
// console: a failed poll is shown on the page.
(function () {
  "use strict";

  var root = document.getElementById("charts");
  if (!root || typeof window.uPlot !== "function" || !window.fetch) {
    return; // the server-rendered page, refreshed by <noscript>, stays as it is
  }
  var uPlot = window.uPlot;

  // Known history fields: title and the unit shown on the y axis. A field
  // not listed here is still drawn, with a title and unit read from its name.
  var KINDS = {
    open_history: { title: "Breaker state", unit: "state", state: true },
    retries_history: { title: "Retries", unit: "retries/s" },
    limited_history: { title: "Rate-limited requests", unit: "limited/s" },
    rate_history: { title: "HTTP requests", unit: "requests/s" },
    goroutines_history: { title: "Goroutines", unit: "goroutines" },
    memory_used_history: { title: "Go memory used", unit: "MiB", scale: 1 / 1048576 },
    cpu_cores_history: { title: "CPU", unit: "cores" }
  };
  // Breaker state as OpenHistory encodes it: words beside the colours.
  var STATES = [[0, "closed", "ok"], [0.5, "half-open", "warn"], [1, "open", "bad"]];
  // Okabe–Ito: distinguishable with the common colour-vision deficiencies.
  var PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"];

  var charts = {}; // group id -> {fig, plot, labels, kind, values}
  var status = document.createElement("p");
  status.className = "meta";
  status.setAttribute("role", "status");
  var grid = document.createElement("div");
  grid.className = "chart-grid";
  root.appendChild(status);
  root.appendChild(grid);
  root.hidden = false;

  function words(s) {
    return s.replace(/_history$/, "").replace(/_/g, " ");
  }

  // kindOf describes a history field: a known one, or one guessed from its name.
  function kindOf(field, section) {
    if (KINDS[field]) {
      return KINDS[field];
    }
    var w = words(field), unit = "value", scale = 1;
    if (/seconds? per second|per second/.test(w)) {
      unit = "/s";
    } else if (/seconds/.test(w)) {
      unit = "s";
    } else if (/bytes/.test(w)) {
      unit = "MiB";
      scale = 1 / 1048576;
    } else if (/ratio/.test(w)) {
      unit = "%";
      scale = 100;
    }
    var title = words(section) + ": " + w;
    return { title: title.charAt(0).toUpperCase() + title.slice(1), unit: unit, scale: scale };
  }

  // rowLabel names a row of a list: its name, else its string fields.
  function rowLabel(row, i) {
    if (typeof row.name === "string" && row.name) {
      return row.name;
    }
    var parts = [];
    Object.keys(row).forEach(function (k) {
      if (typeof row[k] === "string" && row[k] && k !== "state" && k !== "status") {
        parts.push(row[k]);
      }
    });
    return parts.length ? parts.join(" ") : "#" + (i + 1);
  }

  function isHistory(k, v) {
    return /_history$/.test(k) && Array.isArray(v);
  }

  // collect walks the document and returns the chart groups in document
  // order: one per history field of a list (a series per row) or of an
  // object (one series), whatever the section, so that sections added to
  // the API are drawn without a change here.
  function collect(doc) {
    var groups = [], byID = {};
    function add(id, field, section, label, values) {
      var g = byID[id];
      if (!g) {
        g = byID[id] = { id: id, kind: kindOf(field, section), labels: [], series: [] };
        groups.push(g);
      }
      g.labels.push(label);
      g.series.push(values);
    }
    function walk(value, path, depth) {
      if (depth > 3 || value === null || typeof value !== "object") {
        return;
      }
      if (Array.isArray(value)) {
        value.forEach(function (row, i) {
          if (row && typeof row === "object" && !Array.isArray(row)) {
            Object.keys(row).forEach(function (k) {
              if (isHistory(k, row[k])) {
                add(path + "." + k, k, path, rowLabel(row, i), row[k]);
              }
            });
          }
        });
        return;
      }
      Object.keys(value).forEach(function (k) {
        var id = path ? path + "." + k : k;
        if (isHistory(k, value[k])) {
          add(id, k, path, words(k), value[k]);
        } else {
          walk(value[k], id, depth + 1);
        }
      });
    }
    walk(doc, "", 0);
    return groups;
  }

  function formatNumber(v) {
    if (v === null || v === undefined || !isFinite(v)) {
      return "–";
    }
    var a = Math.abs(v);
    if (a !== 0 && (a < 0.01 || a >= 1e6)) {
      return v.toExponential(2);
    }
    return String(Math.round(v * 100) / 100);
  }

  function stateOf(v) {
    if (v === null || v === undefined) {
      return ["unknown", "warn"];
    }
    for (var i = 0; i < STATES.length; i++) {
      if (Math.abs(v - STATES[i][0]) < 0.01) {
        return [STATES[i][1], STATES[i][2]];
      }
    }
    return ["unknown", "warn"];
  }

  function valueText(kind, v) {
    return kind.state ? stateOf(v)[0] : formatNumber(v) + " " + kind.unit;
  }

  function scaled(kind, values) {
    var s = kind.scale || 1;
    return s === 1 ? values : values.map(function (v) { return v === null ? null : v * s; });
  }

  function plotWidth(fig) {
    return Math.max(240, fig.clientWidth - 16);
  }

  // timeLabels writes the x axis in UTC, as the tables do: hours and
  // minutes, and seconds when the charts cover less than ten minutes.
  function timeLabels(u, splits) {
    var span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
    return splits.map(function (ts) {
      return new Date(ts * 1000).toISOString().slice(11, span > 600 ? 16 : 19);
    });
  }

  function makeOptions(g, width) {
    var kind = g.kind;
    var series = [{ label: "time (UTC)", value: function (u, ts) { return ts === null || ts === undefined ? "–" : new Date(ts * 1000).toISOString().slice(11, 19); } }];
    g.labels.forEach(function (label, i) {
      var s = {
        label: label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: false,
        value: function (u, v) { return v === null || v === undefined ? "–" : valueText(kind, v); }
      };
      if (kind.state) {
        s.paths = uPlot.paths.stepped({ align: 1 });
      }
      series.push(s);
    });
    var y = { label: kind.unit, size: 64, values: function (u, splits) { return splits.map(formatNumber); } };
    var scales = { x: { time: true } };
    if (kind.state) {
      y.label = "breaker state";
      y.size = 84;
      y.splits = function () { return STATES.map(function (s) { return s[0]; }); };
      y.values = function (u, splits) { return splits.map(function (v) { return stateOf(v)[0]; }); };
      scales.y = { range: [-0.1, 1.1] };
    }
    return {
      width: width,
      height: 180,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      scales: scales,
      series: series,
      axes: [{ label: "time (UTC)", labelSize: 20, values: timeLabels }, y],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } }
    };
  }

  // moveCursor lets the keyboard read the chart: left and right step
  // through the samples, Home and End jump to the ends; the legend shows the
  // values at the cursor.
  function moveCursor(c, ev) {
    var n = c.plot.data[0].length;
    if (!n) {
      return;
    }
    var idx = c.plot.cursor.idx;
    if (idx === null || idx === undefined) {
      idx = n - 1;
    } else if (ev.key === "ArrowLeft") {
      idx = Math.max(0, idx - 1);
    } else if (ev.key === "ArrowRight") {
      idx = Math.min(n - 1, idx + 1);
    }
    if (ev.key === "Home") {
      idx = 0;
    } else if (ev.key === "End") {
      idx = n - 1;
    }
    ev.preventDefault();
    c.plot.setCursor({ left: c.plot.valToPos(c.plot.data[0][idx], "x"), top: c.plot.over.clientHeight / 2 });
  }

  function caption(c, g) {
    var cap = c.now;
    cap.textContent = "";
    g.series.forEach(function (values, i) {
      var v = values.length ? values[values.length - 1] : null;
      var item = document.createElement("span");
      item.className = "now-item";
      item.appendChild(document.createTextNode(g.labels[i] + ": "));
      var b = document.createElement("b");
      if (g.kind.state) {
        var st = stateOf(v);
        b.textContent = st[0];
        b.className = st[1];
      } else {
        b.textContent = valueText(g.kind, v === null ? null : v * (g.kind.scale || 1));
      }
      item.appendChild(b);
      cap.appendChild(item);
      cap.appendChild(document.createTextNode(" ")); // lets the line wrap between items
    });
  }

  function draw(g, times) {
    var data = [times].concat(g.series.map(function (s) { return scaled(g.kind, s); }));
    var c = charts[g.id];
    if (c && c.labels.join("\u0000") !== g.labels.join("\u0000")) {
      c.plot.destroy(); // rows came or went: rebuild the series
      c.plot = null;
    }
    if (!c) {
      var fig = document.createElement("figure");
      fig.className = "chart";
      fig.tabIndex = 0;
      var cap = document.createElement("figcaption");
      var title = document.createElement("strong");
      title.textContent = g.kind.title + " (" + g.kind.unit + ")";
      var now = document.createElement("span");
      now.className = "now";
      cap.appendChild(title);
      cap.appendChild(document.createTextNode(" now: "));
      cap.appendChild(now);
      fig.appendChild(cap);
      var holder = document.createElement("div");
      fig.appendChild(holder);
      grid.appendChild(fig);
      c = charts[g.id] = { fig: fig, holder: holder, now: now, plot: null };
      fig.addEventListener("keydown", function (ev) {
        if (c.plot && /^(ArrowLeft|ArrowRight|Home|End)$/.test(ev.key)) {
          moveCursor(c, ev);
        }
      });
    }
    c.labels = g.labels;
    c.seen = true;
    c.fig.setAttribute("aria-label", g.kind.title + " in " + g.kind.unit + " over time; arrow keys read the samples");
    if (!c.plot) {
      c.plot = new uPlot(makeOptions(g, plotWidth(c.fig)), data, c.holder);
    } else {
      c.plot.setData(data);
    }
    caption(c, g);
  }

  function render(doc) {
    var times = (doc.times || []).map(function (ms) { return ms / 1000; });
    Object.keys(charts).forEach(function (id) { charts[id].seen = false; });
    collect(doc).forEach(function (g) { draw(g, times); });
    Object.keys(charts).forEach(function (id) {
      if (!charts[id].seen) { // the section left the API
        charts[id].plot.destroy();
        grid.removeChild(charts[id].fig);
        delete charts[id];
      }
    });
  }

  // swapTables replaces every element of the body except the charts and the
  // scripts with the server's fresh rendering of them, so the tables stay
  // the one source of truth for the numbers and their words.
  function swapTables(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var before = true, head = [], tail = [];
    Array.prototype.slice.call(fresh.body.children).forEach(function (el) {
      if (el.id === "charts") {
        before = false;
      } else if (el.tagName !== "SCRIPT") {
        (before ? head : tail).push(document.adoptNode(el));
      }
    });
    if (before) {
      return; // not the dashboard page: keep what is shown
    }
    Array.prototype.slice.call(document.body.children).forEach(function (el) {
      if (el !== root && el.tagName !== "SCRIPT") {
        document.body.removeChild(el);
      }
    });
    head.forEach(function (el) { document.body.insertBefore(el, root); });
    var after = root.nextSibling;
    tail.forEach(function (el) { document.body.insertBefore(el, after); });
  }

  function clock(ms) {
    return new Date(ms).toISOString().slice(11, 19) + " UTC";
  }

  function showStatus(ok, text) {
    status.textContent = "";
    var b = document.createElement("span");
    b.className = ok ? "ok" : "bad";
    b.textContent = ok ? "live" : "not updating";
    status.appendChild(b);
    status.appendChild(document.createTextNode(": " + text));
  }

  var interval = Math.max(1, Number(root.getAttribute("data-interval")) || 5) * 1000;

  function get(url, type) {
    return fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: type } }).then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status + " from " + url);
      }
      return type === "application/json" ? r.json() : r.text();
    });
  }

  var firstPoll = true; // the tables were rendered with the page just now

  function poll() {
    var page = document.URL.replace(/#.*$/, "");
    var html = firstPoll ? Promise.resolve(null) : get(page, "text/html");
    firstPoll = false;
    Promise.all([get("api", "application/json"), html]).then(function (res) {
      var doc = res[0];
      interval = Math.max(1, Number(doc.interval_seconds) || 5) * 1000;
      render(doc);
      if (res[1] !== null) {
        swapTables(res[1]);
      }
      var last = doc.time ? Date.parse(doc.time) : NaN;
      showStatus(true, "sampled " + (isFinite(last) ? clock(last) : "not yet") + ", every " + interval / 1000 + " s; charts cover " + (doc.samples || 0) + " samples");
      // Poll just after the next sample is due; clamped, in case the
      // clocks disagree.
      var due = isFinite(last) ? last + interval + 300 - Date.now() : interval;
      schedule(Math.min(interval, Math.max(250, due)));
    }, function (err) {
      showStatus(false, err.message + "; retrying every " + interval / 1000 + " s");
      schedule(interval);
    });
  }

  var timer = null;
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      Object.keys(charts).forEach(function (id) {
        var c = charts[id];
        c.plot.setSize({ width: plotWidth(c.fig), height: 180 });
      });
    }, 100);
  });

  showStatus(true, "loading the history");
  poll();
})();
