// SVG bar charts, each with its numbers as a table for screen readers and the curious.

import { el, svg, number } from "./util.js";

const W = 560;
const H = 240;
const PAD = { left: 48, right: 12, top: 12, bottom: 54 };

/** Bars of ``series`` ([{label, values: {name: number}}]); ``names`` the stacked/grouped keys. */
export function barChart(box, { captionId, rows, keys, unit, emptyText }) {
  box.replaceChildren();
  if (!rows.length) {
    box.append(el("p", { class: "none" }, emptyText || "No data in this period."));
    return;
  }
  const max = Math.max(1e-9, ...rows.flatMap((r) => keys.map((k) => Number(r.values[k.name]) || 0)));
  const nice = niceCeil(max);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const band = plotW / rows.length;
  const barW = Math.max(1, (band * 0.8) / keys.length);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "bars", role: "img", "aria-labelledby": captionId });
  for (let i = 0; i <= 4; i += 1) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    chart.append(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
    chart.append(svg("text", { class: "axis", x: PAD.left - 6, y: y + 4, "text-anchor": "end" }, number((nice * i) / 4, 2)));
  }
  const every = Math.ceil(rows.length / 12);
  rows.forEach((r, i) => {
    keys.forEach((k, j) => {
      const v = Number(r.values[k.name]) || 0;
      const h = (plotH * v) / nice;
      const x = PAD.left + band * i + band * 0.1 + barW * j;
      chart.append(svg("rect", { class: `bar bar-${j}`, x, y: PAD.top + plotH - h, width: barW, height: h },
        svg("title", {}, `${r.label} · ${k.label}: ${number(v, 2)}${unit ? ` ${unit}` : ""}`)));
    });
    if (i % every === 0) {
      const x = PAD.left + band * i + band / 2;
      chart.append(svg("text", { class: "axis", x, y: H - PAD.bottom + 16, "text-anchor": "middle" }, r.label));
    }
  });
  box.append(chart);
  if (keys.length > 1) {
    box.append(el("ul", { class: "legend" }, keys.map((k, j) => el("li", {}, el("span", { class: `swatch bar-${j}` }), k.label))));
  }
  box.append(el("details", {}, el("summary", {}, "Numbers"),
    el("table", { class: "data" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), keys.map((k) => el("th", { scope: "col" }, k.label)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, el("th", { scope: "row" }, r.label),
        keys.map((k) => el("td", {}, number(r.values[k.name], 2)))))))));
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
