// The live map: corridor layers, vehicles coloured by state, open alerts in red; kept
// current from the stream without reloading. A vehicle opens its movement.

import { layers } from "./layers.js";
import { live } from "./live.js";
import { CorridorMap } from "./map.js";
import { $, el, svg, human, clock, number, showProblem, hideProblem } from "./util.js";

let map = null;
let off = null;

function label(v) {
  const alerts = v.alerts.length ? ` · ALERT: ${v.alerts.map(human).join(", ")}` : "";
  return `${v.plate || "vehicle"} · ${v.mrn} · ${human(v.status)}${alerts}`;
}

function marker(v) {
  const [x, y] = map.project([v.lon, v.lat]);
  const alert = v.alerts.length > 0;
  const node = svg("g", {
    class: "vehicle", tabindex: "0", role: "link", "aria-label": `Open movement: ${label(v)}`,
    dataset: { mrn: v.mrn, status: v.status || "", alert: alert ? "true" : "false", x, y, lon: v.lon, lat: v.lat },
  },
  // No <title> per marker: thousands of them cost the first render; the tooltip is added
  // when the pointer reaches a marker (see hint), the accessible name is the aria-label.
  alert ? svg("circle", { class: "pulse", r: 14 }) : null,
  svg("circle", { class: "dot", r: 7 }),
  alert ? svg("text", { class: "badge", x: 0, y: 4, "text-anchor": "middle" }, "!") : null);
  return node;
}

// Markers by MRN: a stream update finds its marker without searching thousands of nodes.
let markers = new Map();
let listQueued = false;

function drawVehicle(v) {
  const old = markers.get(v.mrn);
  if (typeof v.lon !== "number" || typeof v.lat !== "number") {
    if (old) old.remove();
    markers.delete(v.mrn);
    return;
  }
  const node = marker(v);
  markers.set(v.mrn, node);
  if (old) old.replaceWith(node);
  else map.groups.vehicles.append(node);
  map.place(node);
}

function drawAll() {
  markers = new Map();
  for (const v of live.vehicles.values()) {
    if (typeof v.lon !== "number" || typeof v.lat !== "number") continue;
    const node = marker(v);
    map.place(node); // before it is in the document: no style work per marker
    markers.set(v.mrn, node);
  }
  map.groups.vehicles.replaceChildren(...markers.values());
}

function row(v) {
  return el("li", { dataset: { mrn: v.mrn, alert: v.alerts.length ? "true" : "false" } },
    el("a", { href: `#/movements/${encodeURIComponent(v.mrn)}` },
      el("span", { class: "row-top" }, el("span", { class: "mono strong" }, v.plate || "—"),
        el("span", { class: "state", dataset: { status: v.status || "" } }, human(v.status))),
      el("span", { class: "mono small" }, v.mrn),
      el("span", { class: "small" }, `${clock(v.fixed_at)}${v.speed_kmh != null ? ` · ${number(v.speed_kmh, 0)} km/h` : ""}${v.carrier ? ` · ${v.carrier}` : ""}`),
      v.alerts.length ? el("span", { class: "flag" }, `⚠ ${v.alerts.map(human).join(", ")}`) : null));
}

// The list beside the map: the rows a screen shows (alerts first) at once, the rest of a
// fleet of thousands appended a chunk per frame, so the map is not held up by rows below
// the fold. A newer rendering cancels an unfinished one.
const FIRST_ROWS = 200;
const CHUNK_ROWS = 1000;
let listGeneration = 0;

function renderList() {
  listQueued = false;
  const list = $("vehicle-list");
  const vehicles = [...live.vehicles.values()].sort((a, b) => b.alerts.length - a.alerts.length || (a.mrn < b.mrn ? -1 : a.mrn > b.mrn ? 1 : 0));
  const generation = ++listGeneration;
  list.replaceChildren(...vehicles.slice(0, FIRST_ROWS).map(row));
  const more = (from) => {
    if (generation !== listGeneration || from >= vehicles.length) return;
    list.append(...vehicles.slice(from, from + CHUNK_ROWS).map(row));
    requestAnimationFrame(() => more(from + CHUNK_ROWS));
  };
  requestAnimationFrame(() => more(FIRST_ROWS));
  if (!vehicles.length) list.append(el("li", { class: "none" }, "No vehicle under way."));
  $("vehicles-meta").textContent = `${vehicles.length} under way · ${live.openAlerts()} open alert${live.openAlerts() === 1 ? "" : "s"}`;
}

function update(mrn) {
  if (!map) return;
  if (mrn === null) {
    drawAll();
    renderList();
    return;
  }
  if (live.vehicles.has(mrn)) drawVehicle(live.vehicles.get(mrn));
  // A busy stream brings many fixes a second: the list (thousands of rows, sorted) is
  // rebuilt once per frame, not once per fix.
  if (!listQueued) {
    listQueued = true;
    requestAnimationFrame(renderList);
  }
}

// The tooltip of the marker under the pointer, made when it is first needed.
function hint(e) {
  const node = e.target.closest(".vehicle");
  if (!node || node.querySelector("title")) return;
  const v = live.vehicles.get(node.dataset.mrn);
  if (v) node.prepend(svg("title", {}, label(v)));
}

function open(e) {
  const node = e.target.closest(".vehicle");
  if (!node) return;
  if (e.type === "keydown" && e.key !== "Enter" && e.key !== " ") return;
  e.preventDefault();
  window.location.hash = `#/movements/${encodeURIComponent(node.dataset.mrn)}`;
}

let wired = false;

export async function show() {
  const box = $("map-problem");
  hideProblem(box);
  if (!wired) {
    wired = true;
    $("zoom-in").addEventListener("click", () => map && map.zoom(1.5));
    $("zoom-out").addEventListener("click", () => map && map.zoom(1 / 1.5));
    $("zoom-reset").addEventListener("click", () => map && map.reset());
    $("map").addEventListener("click", open);
    $("map").addEventListener("keydown", open);
    $("map").addEventListener("pointerover", hint);
  }
  try {
    if (!map) {
      map = new CorridorMap($("map"), await layers());
      map.interactive();
    }
    off = live.onChange(update);
    update(null);
  } catch (err) {
    showProblem(box, err);
  }
}

export function hide() {
  if (off) off();
  off = null;
}

export function reset() {
  hide();
  map = null;
  markers = new Map();
}
