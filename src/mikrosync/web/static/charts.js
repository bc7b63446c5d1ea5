// mikrosync console charts: reads the JSON the page carries and draws it with the vendored
// uPlot (static/vendor/uplot). No inline script, so the CSP's script-src 'self' holds.
"use strict";

(function () {
  const source = document.getElementById("chart-data");
  if (!source || typeof uPlot === "undefined") return;
  const data = JSON.parse(source.textContent);
  const box = document.querySelector(".charts");
  const zone = box ? box.dataset.tz : "UTC";

  // Hours in the tenant's zone, whatever the browser's own zone is.
  function hourLabel(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString("en-GB", {
      timeZone: zone, hour: "2-digit", minute: "2-digit",
    });
  }

  function draw(id, series, values, opts) {
    const target = document.getElementById(id);
    if (!target) return;
    const width = Math.max(260, target.clientWidth || 300);
    const options = Object.assign({
      width: width,
      height: 180,
      legend: { show: true },
      cursor: { show: true },
      scales: { x: { time: false } },
      axes: [
        { values: function (u, ticks) { return ticks.map(hourLabel); } },
        { size: 50 },
      ],
      series: [{ value: function (u, v) { return v == null ? "" : hourLabel(v); } }].concat(series),
    }, opts || {});
    const chart = new uPlot(options, [data.times].concat(values), target);
    target.dataset.drawn = "true";
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(260, target.clientWidth || 300), height: 180 });
    });
  }

  function seconds(list) {
    return list.map(function (v) { return v == null ? null : v / 1000; });
  }

  draw("chart-latency", [
    { label: "median s", stroke: "#1d4ed8", width: 2 },
    { label: "slowest s", stroke: "#b91c1c", width: 1, dash: [4, 4] },
  ], [seconds(data.latency_p50_ms), seconds(data.latency_max_ms)]);
  draw("chart-changes", [
    { label: "changes", stroke: "#166534", fill: "rgba(22,101,52,0.15)", width: 2 },
  ], [data.changes]);
  draw("chart-owed", [
    { label: "owed", stroke: "#92400e", fill: "rgba(146,64,14,0.12)", width: 2 },
  ], [data.owed_suspensions]);
  draw("chart-routers", [
    { label: "online", stroke: "#1e40af", width: 2 },
  ], [data.routers_online], { scales: { x: { time: false }, y: { range: [0, Math.max(1, Math.max.apply(null, data.routers_online) + 1)] } } });
})();
