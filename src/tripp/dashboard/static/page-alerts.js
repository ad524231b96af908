// The alerts feed: the latest alerts first, new ones from the stream as they come, each
// opening its movement; acknowledge where the role may (admin, customs, operator).

import { get, post, query, session } from "./api.js";
import { isOpenAlertState } from "./live.js";
import { stream } from "./stream.js";
import { $, el, human, when, say, showProblem, hideProblem } from "./util.js";

const ACKNOWLEDGERS = new Set(["admin", "customs", "operator"]);
const MAX = 2000;
let alerts = new Map(); // id -> alert
let wired = false;
let off = null;

function isOpen(a) {
  return !a.cleared_at && !(a.details && a.details.acknowledged);
}

function item(a) {
  const open = isOpen(a);
  const ack = open && ACKNOWLEDGERS.has(session.me.role)
    ? el("button", { type: "button", class: "ack", dataset: { id: a.id }, "aria-label": `Acknowledge ${human(a.kind)} alert on ${a.mrn}` }, "Acknowledge")
    : null;
  const acked = a.details && a.details.acknowledged;
  return el("li", { dataset: { id: a.id, mrn: a.mrn, open: open ? "true" : "false" } },
    el("span", { class: "row-top" },
      el("span", { class: open ? "flag strong" : "strong" }, `${open ? "⚠ " : ""}${human(a.kind)}`),
      el("span", { class: "small" }, when(a.at))),
    el("a", { class: "mono", href: `#/movements/${encodeURIComponent(a.mrn)}` }, a.mrn),
    el("span", { class: "small" }, [
      a.device_id ? `device ${a.device_id}` : null, a.country ? `in ${a.country}` : null,
      a.cleared_at ? `cleared ${when(a.cleared_at)}` : null,
      acked ? `acknowledged by ${acked.by}` : null,
    ].filter(Boolean).join(" · ")),
    ack);
}

function render() {
  const kind = $("a-kind").value;
  const openOnly = $("a-open").checked;
  const shown = [...alerts.values()]
    .filter((a) => (!kind || a.kind === kind) && (!openOnly || isOpen(a)))
    .sort((a, b) => String(b.at).localeCompare(String(a.at)) || b.id - a.id);
  $("alert-rows").replaceChildren(...shown.map(item));
  if (!shown.length) $("alert-rows").append(el("li", { class: "none" }, "No alert."));
  const open = [...alerts.values()].filter(isOpen).length;
  $("alerts-meta").textContent = `${shown.length} shown · ${open} open`;
}

async function load() {
  const box = $("alerts-problem");
  hideProblem(box);
  try {
    const found = new Map();
    let cursor = null;
    do {
      const data = await get(`/alerts${query({ limit: 500, cursor })}`);
      for (const a of data.items) found.set(a.id, a);
      cursor = data.next_cursor;
    } while (cursor && found.size < MAX);
    alerts = found;
    render();
  } catch (err) {
    showProblem(box, err);
  }
}

function onStream(a) {
  const known = alerts.get(a.id);
  const open = isOpenAlertState(a.state);
  const merged = {
    ...(known || { device_id: null, country: null, details: {} }),
    id: a.id, mrn: a.mrn, kind: a.kind, at: (known && known.at) || a.raised_at,
    cleared_at: open ? null : (known && known.cleared_at) || new Date().toISOString(),
  };
  alerts.set(a.id, merged);
  render();
  if (open && !known) say(`New alert: ${human(a.kind)} on ${a.mrn}`);
}

async function acknowledge(button) {
  button.disabled = true;
  try {
    const a = await post(`/alerts/${encodeURIComponent(button.dataset.id)}/acknowledge`, {});
    alerts.set(a.id, a);
    render();
    say(`Acknowledged ${human(a.kind)} on ${a.mrn}`);
  } catch (err) {
    button.disabled = false;
    showProblem($("alerts-problem"), err);
  }
}

export function show() {
  if (!wired) {
    wired = true;
    $("a-kind").addEventListener("change", render);
    $("a-open").addEventListener("change", render);
    $("alert-filter").addEventListener("submit", (e) => e.preventDefault());
    $("alert-rows").addEventListener("click", (e) => {
      const button = e.target.closest("button.ack");
      if (button) acknowledge(button);
    });
  }
  if (!off) off = stream.on("alert", onStream);
  load();
}

export function hide() {
  if (off) off();
  off = null;
}

export function reset() {
  hide();
  alerts = new Map();
}
