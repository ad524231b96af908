// Movements: search by MRN or plate, filter by status and office, page through; a
// movement's detail with its timeline, track on the map, seals, guarantee and alerts.

import { get, query, session, ApiError } from "./api.js";
import { layers } from "./layers.js";
import { CorridorMap } from "./map.js";
import { $, el, human, when, showProblem, hideProblem, MRN_RE } from "./util.js";

const PAGE = 25;
// The API has no plate filter: a plate is looked for in this many of the latest rows.
const PLATE_SCAN = 2000;
const list = { cursors: [null], index: 0, next: null, wired: false };

function routeText(m) {
  return [m.office_of_departure, ...(m.offices_of_transit || []), m.office_of_destination].join(" → ");
}

function row(m) {
  return el("tr", { dataset: { mrn: m.mrn } },
    el("td", {}, el("a", { class: "mono", href: `#/movements/${encodeURIComponent(m.mrn)}` }, m.mrn)),
    el("td", {}, el("span", { class: "state", dataset: { status: m.state } }, human(m.state))),
    el("td", { class: "mono" }, (m.transport && m.transport.vehicle_id) || "—"),
    el("td", {}, m.holder || "—"),
    el("td", { class: "small" }, routeText(m)),
    el("td", {}, when(m.updated_at)));
}

function filters() {
  return { q: $("m-query").value.trim(), state: $("m-state").value, office: $("m-office").value };
}

async function page(cursor) {
  const f = filters();
  return get(`/movements${query({ state: f.state, office: f.office, limit: PAGE, cursor })}`);
}

async function plateSearch(plate) {
  const f = filters();
  const wanted = plate.toUpperCase().replace(/\s+/g, "");
  const found = [];
  let cursor = null;
  let seen = 0;
  do {
    const data = await get(`/movements${query({ state: f.state, office: f.office, limit: 500, cursor })}`);
    seen += data.items.length;
    found.push(...data.items.filter((m) => ((m.transport && m.transport.vehicle_id) || "").toUpperCase().replace(/\s+/g, "").includes(wanted)));
    cursor = data.next_cursor;
  } while (cursor && seen < PLATE_SCAN);
  return found;
}

async function load() {
  const box = $("movements-problem");
  hideProblem(box);
  const rows = $("movement-rows");
  const f = filters();
  try {
    if (f.q) {
      const found = await plateSearch(f.q);
      rows.replaceChildren(...found.map(row));
      list.next = null;
      $("m-page").textContent = `${found.length} movement${found.length === 1 ? "" : "s"} with plate “${f.q}”`;
    } else {
      const data = await page(list.cursors[list.index]);
      rows.replaceChildren(...data.items.map(row));
      list.next = data.next_cursor;
      $("m-page").textContent = `Page ${list.index + 1} · ${data.items.length} shown`;
    }
    if (!rows.children.length) rows.append(el("tr", {}, el("td", { colspan: "6", class: "none" }, "No movement found.")));
  } catch (err) {
    showProblem(box, err);
  }
  $("m-prev").disabled = f.q !== "" || list.index === 0;
  $("m-next").disabled = f.q !== "" || !list.next;
}

function wire() {
  list.wired = true;
  const offices = (session.corridor && session.corridor.offices) || [];
  $("m-office").append(...offices.map((o) => el("option", { value: o.code }, `${o.code} · ${o.name}`)));
  $("movement-search").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("m-query").value.trim().toUpperCase();
    if (MRN_RE.test(q)) {
      window.location.hash = `#/movements/${encodeURIComponent(q)}`;
      return;
    }
    list.cursors = [null];
    list.index = 0;
    load();
  });
  $("m-next").addEventListener("click", () => {
    if (!list.next) return;
    list.cursors[list.index + 1] = list.next;
    list.index += 1;
    load();
  });
  $("m-prev").addEventListener("click", () => {
    if (list.index === 0) return;
    list.index -= 1;
    load();
  });
}

export function show() {
  if (!list.wired) wire();
  load();
}

export function reset() {
  list.cursors = [null];
  list.index = 0;
  if (list.wired) $("m-office").replaceChildren(el("option", { value: "" }, "Any"));
  list.wired = false;
}

// ---------------------------------------------------------------- detail

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value ?? "—")];
}

function facts(m) {
  const t = m.transport || {};
  const items = [
    fact("Status", el("span", { class: "state", dataset: { status: m.state } }, human(m.state))),
    fact("Holder", m.holder),
    fact("Vehicle", el("span", { class: "mono" }, `${t.vehicle_id || "—"} (${t.nationality || "—"}, ${t.mode || "—"})`)),
    fact("Containers", (t.containers || []).join(", ") || "—"),
    fact("Route", routeText(m)),
    fact("Seals", m.seals && m.seals.length ? el("span", { class: "mono" }, m.seals.join(", ")) : "none recorded"),
    fact("Tracker", m.tracker_id || "—"),
    fact("Released", when(m.released_at)),
    fact("Time limit", when(m.time_limit)),
    fact("Arrived", when(m.arrived_at)),
  ];
  if (m.view === "full") {
    items.push(fact("Guarantee", el("span", { class: "mono" }, m.guarantee || "—")));
    if (m.liability) items.push(fact("Liability", `${m.liability.amount} ${m.liability.currency}`));
  } else {
    items.push(fact("Guarantee", "not shown in the operational view"));
  }
  return items.flat();
}

function timelineItem(e) {
  const p = e.payload || {};
  const extra = [p.direction, p.kind, p.outcome, p.reason, p.notes].filter(Boolean).join(" · ");
  return el("li", { dataset: { type: e.type } },
    el("span", { class: "strong" }, human(e.type)), ` at ${e.office || "—"} · ${when(e.at)}`,
    el("span", { class: "small" }, ` → ${human(e.state_after)}${extra ? ` · ${extra}` : ""} · by ${e.recorded_by}`));
}

function alertItem(a) {
  return el("li", { dataset: { alert: a.cleared_at ? "false" : "true" } },
    el("span", { class: "strong" }, human(a.kind)), ` · ${when(a.at)} · `,
    a.cleared_at ? `cleared ${when(a.cleared_at)}` : el("span", { class: "flag" }, "open"));
}

export async function showDetail(mrn) {
  const box = $("movement-problem");
  hideProblem(box);
  $("movement-body").hidden = true;
  $("movement-heading").textContent = `Movement ${mrn}`;
  let m;
  try {
    m = await get(`/movements/${encodeURIComponent(mrn)}`);
  } catch (err) {
    const notFound = err instanceof ApiError && err.problem.status === 404;
    showProblem(box, notFound ? new ApiError({ status: 404, title: "Not found", detail: `No movement ${mrn} that you may see.` }) : err);
    return;
  }
  $("movement-facts").replaceChildren(...facts(m));
  $("movement-body").hidden = false;
  const [events, track, alerts, geo] = await Promise.allSettled([
    get(`/movements/${encodeURIComponent(mrn)}/events`),
    get(`/movements/${encodeURIComponent(mrn)}/track`),
    get(`/alerts${query({ mrn, limit: 100 })}`),
    layers(),
  ]);
  $("timeline").replaceChildren(...(events.status === "fulfilled" ? events.value.items.map(timelineItem) : [el("li", { class: "none" }, "Timeline unavailable.")]));
  const found = alerts.status === "fulfilled" ? alerts.value.items : [];
  $("movement-alerts").replaceChildren(...(found.length ? found.map(alertItem) : [el("li", { class: "none" }, "No alert.")]));
  if (geo.status === "fulfilled") {
    const small = new CorridorMap($("track-map"), geo.value);
    if (track.status === "fulfilled") small.showTrack(track.value);
  }
  const fixes = track.status === "fulfilled" ? (track.value.properties || {}).fixes : null;
  $("track-meta").textContent = fixes ? `${fixes} position${fixes === 1 ? "" : "s"} recorded.` : "No position recorded.";
}
