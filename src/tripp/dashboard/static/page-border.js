// A border post: what is expected there (ETA, lane), what is due now, and the latest
// screening results. Customs see their own country's offices; operator and admin all.

import { get, query, session } from "./api.js";
import { $, el, human, clock, when, showProblem, hideProblem } from "./util.js";

const REFRESH_MS = 15000;
let timer = 0;
let wired = false;

function offices() {
  const all = (session.corridor && session.corridor.offices) || [];
  const me = session.me || {};
  return me.role === "customs" ? all.filter((o) => o.country === me.country) : all;
}

function lane(l) {
  return l ? el("span", { class: "tag", dataset: { lane: l } }, l.toUpperCase()) : "—";
}

function next(ev) {
  if (!ev) return "—";
  return ev.direction ? `${human(ev.type)} (${ev.direction})` : human(ev.type);
}

function mrnLink(mrn) {
  return el("a", { class: "mono", href: `#/movements/${encodeURIComponent(mrn)}` }, mrn);
}

const FIRST_PAGE = 200; // the soonest arrivals, drawn at once
const MORE_PAGE = 500;
const MAX_ROWS = 2000;
let loading = 0; // which load() is current: a newer one (office changed, refresh) wins

async function load(code) {
  const box = $("border-problem");
  hideProblem(box);
  const mine = ++loading;
  const path = `/offices/${encodeURIComponent(code)}/expected`;
  const meta = (items, more) => {
    const updated = clock(new Date().toISOString());
    $("border-meta").textContent = `${items.length}${more ? "+" : ""} expected at ${code} · updated ${updated}`;
  };
  try {
    // The soonest page first, so a post with thousands expected shows its queue at once;
    // the later arrivals follow in the background.
    const items = [];
    let data = await get(path + query({ limit: FIRST_PAGE }));
    if (mine !== loading) return;
    items.push(...data.items);
    render(items);
    meta(items, Boolean(data.next_cursor));
    while (data.next_cursor && items.length < MAX_ROWS) {
      data = await get(path + query({ limit: MORE_PAGE, cursor: data.next_cursor }));
      if (mine !== loading) return;
      items.push(...data.items);
    }
    if (items.length > FIRST_PAGE) {
      render(items);
      meta(items, Boolean(data.next_cursor));
    }
  } catch (err) {
    if (mine === loading) showProblem(box, err);
  }
}

function render(items) {
  const now = Date.now();
  $("expected-rows").replaceChildren(...items.map((i) => el("tr", { dataset: { mrn: i.mrn } },
    el("td", {}, `${clock(i.eta)} `, el("span", { class: "small" }, i.eta_source || "")),
    el("td", { class: "mono" }, i.vehicle_id || "—"),
    el("td", {}, mrnLink(i.mrn)),
    el("td", {}, lane(i.lane), i.inspection_required ? el("span", { class: "flag small" }, " inspection") : null),
    el("td", {}, next(i.next_event)))));
  if (!items.length) $("expected-rows").append(el("tr", {}, el("td", { colspan: "5", class: "none" }, "Nothing expected.")));
  // Due now: the estimate has passed and the crossing is not recorded yet.
  const due = items.filter((i) => i.eta && Date.parse(i.eta) <= now);
  $("queue").replaceChildren(...(due.length ? due.map((i) => el("li", {},
    el("span", { class: "mono strong" }, i.vehicle_id || "—"), " ", lane(i.lane), " ",
    mrnLink(i.mrn), el("span", { class: "small" }, ` · due since ${clock(i.eta)}`))) : [el("li", { class: "none" }, "No vehicle due now.")]));
  const screened = items.filter((i) => i.screening).sort((a, b) => String(b.screening.at).localeCompare(String(a.screening.at)));
  $("screened").replaceChildren(...(screened.length ? screened.slice(0, 20).map((i) => el("li", {},
    lane(i.screening.lane), " ", el("span", { class: "mono strong" }, i.vehicle_id || "—"), " ", mrnLink(i.mrn),
    el("span", { class: "small" }, ` · ${when(i.screening.at)} · score ${i.screening.score ?? "—"}`))) : [el("li", { class: "none" }, "No screening yet.")]));
}

export function show(code) {
  const select = $("b-office");
  if (!wired) {
    wired = true;
    select.replaceChildren(...offices().map((o) => el("option", { value: o.code }, `${o.code} · ${o.name} (${o.country})`)));
    $("border-form").addEventListener("submit", (e) => {
      e.preventDefault();
      window.location.hash = `#/border/${encodeURIComponent(select.value)}`;
    });
  }
  const chosen = code && offices().some((o) => o.code === code) ? code : select.value;
  if (!chosen) return;
  select.value = chosen;
  $("border-heading").textContent = `Border post ${chosen}`;
  load(chosen);
  window.clearInterval(timer);
  timer = window.setInterval(() => load(chosen), REFRESH_MS);
}

export function hide() {
  window.clearInterval(timer);
}

export function reset() {
  hide();
  wired = false;
}
