// Key figures of a period: transit-time histogram, crossings per hour, dwell at the posts,
// alerts per 100 movements; the same figures as CSV. Observers see this page only.

import { get, raw, query, session, saveBlob } from "./api.js";
import { barChart } from "./charts.js";
import { $, el, human, number, showProblem, hideProblem } from "./util.js";

let wired = false;

const day = (d) => d.toISOString().slice(0, 10);

function period() {
  const from = $("k-from").value;
  const to = $("k-to").value;
  const end = new Date(`${to}T00:00:00Z`);
  end.setUTCDate(end.getUTCDate() + 1); // the whole last day
  return { from: `${from}T00:00:00Z`, to: end.toISOString().replace(".000Z", "Z"), office: $("k-office").value };
}

function fillOffices(data) {
  const select = $("k-office");
  const known = new Set([...select.options].map((o) => o.value));
  const fromCorridor = ((session.corridor && session.corridor.offices) || []).map((o) => [o.code, `${o.code} · ${o.name}`]);
  const fromData = [...(data ? data.crossings_per_hour || [] : []), ...(data ? data.border_post_dwell_minutes || [] : [])]
    .map((r) => [r.office, r.office]);
  for (const [code, text] of [...fromCorridor, ...fromData]) {
    if (code && !known.has(code)) {
      known.add(code);
      select.append(el("option", { value: code }, text));
    }
  }
}

function hourLabel(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${String(d.getUTCDate()).padStart(2, "0")} ${String(d.getUTCHours()).padStart(2, "0")}h`;
}

function render(k) {
  const t = k.transit_time_hours || {};
  barChart($("c-transit"), {
    captionId: "c-transit-cap", unit: "movements",
    rows: (t.histogram || []).map((b) => ({ label: `${number(b.lo, 0)}–${number(b.hi, 0)}`, values: { count: b.count } })),
    keys: [{ name: "count", label: "Movements" }],
  });
  $("c-transit-cap").textContent = `Transit time (hours) · median ${number(t.p50)} · p95 ${number(t.p95)}`;
  const hours = new Map();
  for (const r of k.crossings_per_hour || []) hours.set(r.hour, (hours.get(r.hour) || 0) + Number(r.count || 0));
  barChart($("c-crossings"), {
    captionId: "c-crossings-cap", unit: "crossings",
    rows: [...hours.entries()].sort(([a], [b]) => String(a).localeCompare(String(b))).map(([h, c]) => ({ label: hourLabel(h), values: { count: c } })),
    keys: [{ name: "count", label: "Crossings" }],
  });
  barChart($("c-dwell"), {
    captionId: "c-dwell-cap", unit: "min",
    rows: (k.border_post_dwell_minutes || []).map((r) => ({ label: r.office, values: { p50: r.p50, p95: r.p95, mean: r.mean } })),
    keys: [{ name: "p50", label: "Median" }, { name: "p95", label: "95th percentile" }, { name: "mean", label: "Mean" }],
  });
  const a = k.alerts_per_100_movements || {};
  barChart($("c-alerts"), {
    captionId: "c-alerts-cap", unit: "per 100 movements",
    rows: Object.entries(a.by_kind || {}).map(([kind, v]) => ({ label: human(kind), values: { rate: v } })),
    keys: [{ name: "rate", label: "Per 100 movements" }],
    emptyText: "No alert in this period.",
  });
  $("c-alerts-cap").textContent = `Alerts per 100 movements · total ${number(a.total, 2)}`;
  $("kpis-meta").textContent = `${k.movements ?? "—"} movements from ${String(k.from || "").slice(0, 10)} to ${String(k.to || "").slice(0, 10)}`;
}

async function load() {
  const box = $("kpis-problem");
  hideProblem(box);
  try {
    const k = await get(`/dashboard/kpis${query(period())}`);
    fillOffices(k);
    render(k);
  } catch (err) {
    showProblem(box, err);
  }
}

async function exportCsv() {
  const box = $("kpis-problem");
  hideProblem(box);
  try {
    const p = period();
    const response = await raw(`/dashboard/kpis${query({ ...p, format: "csv" })}`, { accept: "text/csv" });
    saveBlob(await response.blob(), `tripp-kpis-${$("k-from").value}-${$("k-to").value}${p.office ? `-${p.office}` : ""}.csv`);
  } catch (err) {
    showProblem(box, err);
  }
}

export function show() {
  if (!wired) {
    wired = true;
    const now = new Date();
    const start = new Date(now.getTime() - 29 * 86400000);
    $("k-from").value = day(start);
    $("k-to").value = day(now);
    fillOffices(null);
    $("kpi-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
    $("k-csv").addEventListener("click", exportCsv);
  }
  load();
}

export function reset() {
  wired = false;
  $("k-office").replaceChildren(el("option", { value: "" }, "All offices"));
}
