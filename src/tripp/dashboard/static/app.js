// The operations dashboard: sign-in, the pages each role may open, hash routes.
// Vanilla modules served by tripp itself; the Content-Security-Policy allows 'self' only.

import { ApiError, get, session, whoAmI } from "./api.js";
import { forgetLayers } from "./layers.js";
import { live } from "./live.js";
import * as alertsPage from "./page-alerts.js";
import * as borderPage from "./page-border.js";
import * as kpisPage from "./page-kpis.js";
import * as mapPage from "./page-map.js";
import * as movementsPage from "./page-movements.js";
import * as reportsPage from "./page-reports.js";
import { stream } from "./stream.js";
import { $, say, showProblem } from "./util.js";

const STAFF = ["admin", "customs", "operator"];
const PAGES = {
  map: { roles: [...STAFF, "carrier"], module: mapPage, title: "Live map" },
  movements: { roles: [...STAFF, "carrier"], module: movementsPage, title: "Movements" },
  border: { roles: STAFF, module: borderPage, title: "Border post" },
  alerts: { roles: [...STAFF, "carrier"], module: alertsPage, title: "Alerts" },
  kpis: { roles: [...STAFF, "carrier", "observer"], module: kpisPage, title: "KPIs" },
  reports: { roles: STAFF, module: reportsPage, title: "Simulator reports" },
};
const LIVE_WORDS = { connecting: "connecting…", live: "● live", retrying: "reconnecting…", refused: "live feed refused", idle: "" };

let current = null;

function allowed(page) {
  return Boolean(session.me && PAGES[page] && PAGES[page].roles.includes(session.me.role));
}

function firstPage() {
  return Object.keys(PAGES).find(allowed);
}

function hideAll() {
  for (const s of document.querySelectorAll("main > section")) s.hidden = true;
  if (current && current.hide) current.hide();
  current = null;
}

function route() {
  if (!session.me) return;
  const hash = window.location.hash;
  if (!hash.startsWith("#/")) {
    if (hash !== "#main") window.location.replace(`#/${firstPage()}`);
    return;
  }
  const [name, arg] = hash.slice(2).split("/").map((p) => decodeURIComponent(p));
  hideAll();
  markNav(name);
  if (!allowed(name)) {
    $("refused-text").textContent = PAGES[name]
      ? `The ${PAGES[name].title} page is not open to the ${session.me.role} role.`
      : `There is no page “${name}”.`;
    $("page-refused").hidden = false;
    document.title = "Not available · tripp";
    return;
  }
  const page = PAGES[name];
  current = page.module;
  if (name === "movements" && arg) {
    $("page-movement").hidden = false;
    movementsPage.showDetail(arg);
  } else {
    $(`page-${name}`).hidden = false;
    page.module.show(arg);
  }
  document.title = `${page.title} · tripp`;
}

function markNav(name) {
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function renderNav() {
  for (const a of document.querySelectorAll("#nav a")) a.parentElement.hidden = !allowed(a.dataset.page);
  $("nav").hidden = false;
}

function renderWho() {
  const me = session.me;
  $("who").textContent = [me.role, me.party, me.country].filter(Boolean).join(" · ");
  $("who").hidden = false;
  $("sign-out").hidden = false;
}

function renderAlertCount() {
  const n = live.openAlerts();
  $("alert-count").textContent = n ? String(n) : "";
  $("alert-count").hidden = n === 0;
  $("alert-count").setAttribute("aria-label", `${n} open`);
}

async function start() {
  session.me = await whoAmI();
  if (session.me.role !== "observer" && !session.corridor) session.corridor = await get("/corridor");
  renderWho();
  renderNav();
  $("page-signin").hidden = true;
  route();
  if (session.me.role !== "observer") {
    live.start().catch((err) => { if (current === mapPage) showProblem($("map-problem"), err); });
  }
}

function signOut(reason) {
  live.stop();
  forgetLayers();
  for (const p of Object.values(PAGES)) if (p.module.reset) p.module.reset();
  hideAll();
  session.token = "";
  session.me = null;
  session.corridor = null;
  $("nav").hidden = true;
  $("who").hidden = true;
  $("live").hidden = true;
  $("sign-out").hidden = true;
  $("page-signin").hidden = false;
  $("signin-token").value = "";
  if (reason) showProblem($("signin-error"), new ApiError({ title: reason }));
  else $("signin-error").hidden = true;
  if (window.location.hash) history.replaceState(null, "", window.location.pathname);
  document.title = "Sign in · tripp";
  $("signin-token").focus();
}

$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = $("signin-token").value.trim();
  if (!token) {
    showProblem($("signin-error"), new ApiError({ title: "Paste your token first" }));
    return;
  }
  session.token = token;
  try {
    await start();
  } catch (err) {
    const refused = err instanceof ApiError && err.problem.status === 401;
    signOut(refused ? "The token was refused." : `Cannot sign in: ${err.message}`);
    return;
  }
  $("signin-error").hidden = true;
  say(`Signed in as ${session.me.role}`);
  $("main").focus();
});

$("sign-out").addEventListener("click", () => signOut());
$("skip").addEventListener("click", (e) => {
  e.preventDefault();
  $("main").focus();
});
window.addEventListener("hashchange", () => {
  route();
  if (window.location.hash.startsWith("#/")) $("main").focus({ preventScroll: true });
});
session.onUnauthorized = () => { if (session.me) signOut("The token was refused: sign in again."); };
stream.on("state", (state) => {
  $("live").textContent = LIVE_WORDS[state] || state;
  $("live").dataset.state = state;
  $("live").hidden = !LIVE_WORDS[state];
});
live.onChange(renderAlertCount);

// A sign-in link (`tripp demo` prints one per role) carries the token in the fragment,
// which the browser never sends to a server: take it into this tab's session, then wipe it
// from the address bar and history at once.
if (window.location.hash.startsWith("#token=")) {
  session.token = decodeURIComponent(window.location.hash.slice("#token=".length));
  history.replaceState(null, "", window.location.pathname + "#/map");
}

if (session.token) {
  start().catch(() => signOut("Sign in again."));
} else {
  signOut();
}
