// The officer terminal: scan, see the lane, record the crossing; keyboard first.
// Talks to the API by relative paths, so the main server and a post node serve the same
// page. No framework, no external resources (the Content-Security-Policy allows 'self').
"use strict";

(() => {
  const API = "/api/v1";
  const REFRESH_MS = 15000;
  // A scanner that sends CR+LF, or a bounced key, must not record the crossing on its own.
  const ARM_DELAY_MS = 300;
  const MRN_RE = /^[0-9]{2}[A-Z]{2}[A-Z0-9]{14}$/;
  const CONTAINER_RE = /^[A-Z]{3}[UJZ][0-9]{7}$/;
  const STORE = { token: "tripp.terminal.token", office: "tripp.terminal.office" };

  const LANES = {
    green: { text: "GREEN LANE", sub: "Proceed: no inspection required", say: "Green lane" },
    yellow: { text: "YELLOW LANE", sub: "Check the documents before the crossing", say: "Yellow lane" },
    red: { text: "RED LANE", sub: "Inspect the load: X-ray or physical", say: "Red lane" },
  };
  const EVENT_WORDS = {
    border_crossing: "Border crossing",
    arrival: "Arrival at destination",
    inspection: "Inspection",
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    signin: $("signin"), signinForm: $("signin-form"), signinToken: $("signin-token"),
    signinOffice: $("signin-office"), signinError: $("signin-error"),
    desk: $("desk"), officeLabel: $("office-label"), net: $("net"), post: $("post"),
    signOut: $("sign-out"), scanForm: $("scan-form"), scan: $("scan"),
    message: $("message"), announce: $("announce"), problem: $("problem"),
    result: $("result"), lane: $("lane"), laneText: $("lane-text"), laneSub: $("lane-sub"),
    nextText: $("next-text"), nextKeys: $("next-keys"), next: $("next"),
    mrn: $("f-mrn"), vehicle: $("f-vehicle"), containers: $("f-containers"),
    holder: $("f-holder"), mode: $("f-mode"), screened: $("f-screened"),
    seals: $("seals"), alertsBox: $("alerts-box"), alerts: $("alerts"), reasons: $("reasons"),
    inspection: $("inspection"), inspectionNeed: $("inspection-need"),
    kind: $("i-kind"), outcome: $("i-outcome"), duration: $("i-duration"),
    followUp: $("i-follow-up"), findings: $("i-findings"), inspectionCancel: $("i-cancel"),
    inspectionError: $("inspection-error"),
    expected: $("expected"), expectedMeta: $("expected-meta"), expectedHeading: $("expected-heading"),
    conflicts: $("conflicts"), conflictList: $("conflict-list"), hints: $("hints"),
  };

  const state = {
    token: "", office: "",
    mode: "idle", // idle | busy | result | inspection | recording
    result: null, // {screening, item, crossingId, inspectionId, inspected, armed}
    expected: [], selected: -1,
    seq: 0, timer: 0, postNode: null, // null: unknown yet; false: main server; true: post node
  };

  // ---------------------------------------------------------------- helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; a post node on plain HTTP in the LAN is not one.
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function clock(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function nextEventWords(ev) {
    if (!ev) return "";
    const words = EVENT_WORDS[ev.type] || ev.type;
    return ev.direction ? `${words} — ${ev.direction}` : words;
  }

  function words(list) {
    return list && list.length ? list.join(", ") : "—";
  }

  /** What a scan is: an MRN, an ISO 6346 container number, or else a vehicle plate. */
  function classify(raw) {
    const text = raw.trim().toUpperCase();
    const compact = text.replace(/[\s-]/g, "");
    if (MRN_RE.test(compact)) return { field: "mrn", value: compact, label: "MRN" };
    if (CONTAINER_RE.test(compact)) return { field: "container", value: compact, label: "container" };
    return { field: "vehicle_id", value: text.replace(/\s+/g, " "), label: "plate" };
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(problem) {
      super(problem.detail || problem.title);
      this.problem = problem;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, cache: "no-store", credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      setOnline(false);
      throw new ApiError({
        network: true, status: 0, title: "Network down",
        detail: "The server does not answer. Nothing was recorded; try again when the link is back.",
      });
    }
    setOnline(true);
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (!response.ok) {
      const p = data && typeof data === "object" ? data : {};
      throw new ApiError({
        status: response.status,
        title: p.title || `HTTP ${response.status}`,
        detail: p.detail || response.statusText || "",
        errors: Array.isArray(p.errors) ? p.errors : [],
        allowed: p.allowed, state: p.state,
      });
    }
    return { status: response.status, data };
  }

  function officePath(suffix) {
    return `/offices/${encodeURIComponent(state.office)}/${suffix}`;
  }

  // ---------------------------------------------------------------- rendering: messages

  function renderProblem(box, err) {
    const p = err instanceof ApiError ? err.problem : { title: "Error", detail: String(err) };
    box.replaceChildren(...[
      el("p", { class: "problem-title" }, p.status ? `${p.title} (${p.status})` : p.title),
      p.detail ? el("p", { class: "problem-detail" }, p.detail) : null,
      p.errors && p.errors.length
        ? el("ul", { class: "problem-fields" },
            p.errors.map((e) => el("li", {}, el("code", {}, e.field || "body"), ": ", e.message || "")))
        : null,
    ].filter(Boolean));
    box.dataset.network = p.network ? "true" : "false";
    box.hidden = false;
  }

  function showProblem(err) {
    renderProblem(ui.problem, err);
    const p = err instanceof ApiError ? err.problem : { title: String(err) };
    say(`${p.title}. ${p.detail || ""}`);
  }

  function clearProblem() {
    ui.problem.hidden = true;
    ui.problem.replaceChildren();
  }

  function showMessage(text, kind) {
    ui.message.textContent = text;
    ui.message.dataset.kind = kind || "info";
  }

  function say(text) {
    // Re-set even when unchanged, so screen readers announce a repeated result.
    ui.announce.textContent = "";
    window.setTimeout(() => { ui.announce.textContent = text; }, 30);
  }

  function setOnline(online) {
    ui.net.hidden = online;
    ui.net.dataset.state = online ? "online" : "offline";
    ui.net.textContent = online ? "" : "⚠ Server unreachable";
  }

  // ---------------------------------------------------------------- rendering: hints

  const KEYS = {
    idle: [["Scan / type + Enter", "screen"], ["↓", "expected arrivals"], ["Esc", "clear"]],
    busy: [["…", "asking the server"]],
    list: [["↑ ↓", "choose"], ["Enter", "screen"], ["Esc", "back to scan"]],
    inspection: [["Tab", "next field"], ["Enter", "save inspection"], ["Esc", "back"]],
    recording: [["…", "recording"]],
  };

  function resultKeys() {
    const r = state.result;
    const keys = [];
    if (canRecord()) keys.push(["Enter", `record ${nextEventWords(r.item.next_event).toLowerCase()}`]);
    if (needsInspection()) keys.push(["I", "record the inspection"]);
    keys.push(["Esc", "cancel"], ["Scan", "next vehicle"]);
    return keys;
  }

  function renderHints() {
    let keys;
    if (document.activeElement === ui.expected) keys = KEYS.list;
    else if (state.mode === "result") keys = resultKeys();
    else keys = KEYS[state.mode] || KEYS.idle;
    ui.hints.replaceChildren(...keys.map(([k, w]) => el("li", {}, el("kbd", {}, k), " ", w)));
  }

  function setMode(mode) {
    state.mode = mode;
    document.body.dataset.mode = mode;
    renderHints();
  }

  // ---------------------------------------------------------------- the screening result

  function needsInspection() {
    const r = state.result;
    return Boolean(r && !r.inspected);
  }

  function canRecord() {
    const r = state.result;
    return Boolean(r && r.item && r.item.next_event && r.inspected && r.armed);
  }

  function showResult(result) {
    state.result = result;
    const s = result.screening;
    const item = result.item || {};
    const lane = LANES[s.lane] ? s.lane : "red";
    ui.lane.dataset.lane = lane;
    ui.laneText.textContent = LANES[lane].text;
    ui.laneSub.textContent = LANES[lane].sub;
    ui.mrn.textContent = s.mrn;
    ui.vehicle.textContent = item.vehicle_id || "—";
    ui.containers.textContent = words(item.containers);
    ui.holder.textContent = item.holder || "—";
    ui.mode.textContent = item.mode || "—";
    ui.screened.textContent =
      `${clock(s.at)} · score ${s.score ?? "—"} · ruleset ${s.ruleset ? `${s.ruleset.country} v${s.ruleset.version}` : "—"}`;
    const seals = item.seals || [];
    ui.seals.replaceChildren(...(seals.length ? seals.map((x) => el("li", {}, x)) : [el("li", { class: "none" }, "No seals declared")]));
    const alerts = item.open_alerts || [];
    ui.alertsBox.hidden = alerts.length === 0;
    ui.alerts.replaceChildren(...alerts.map((a) => el("li", {}, typeof a === "string" ? a : a.kind || JSON.stringify(a))));
    const reasons = s.reasons || [];
    ui.reasons.replaceChildren(...(reasons.length
      ? reasons.map((r) => el("tr", { dataset: { lane: r.lane || "" } },
          el("td", { class: "mono" }, r.rule || r.kind || "—"),
          el("td", {}, r.detail || ""),
          el("td", {}, r.lane ? `forces ${r.lane}` : `${r.points > 0 ? "+" : ""}${r.points ?? 0} pts`)))
      : [el("tr", {}, el("td", { colspan: "3", class: "none" }, "No rule applied"))]));
    ui.result.hidden = false;
    ui.result.dataset.armed = "false";
    renderNext();
    setMode("result");
    say(`${LANES[lane].say}. MRN ${s.mrn}. ${needsInspection() ? "Inspection required." : ""} ${
      item.next_event ? "" : "Not expected at this office."}`);
    window.setTimeout(() => {
      if (state.result !== result) return;
      result.armed = true;
      ui.result.dataset.armed = "true";
      renderNext();
      renderHints();
    }, ARM_DELAY_MS);
  }

  function renderNext() {
    const r = state.result;
    if (!r) return;
    const ev = r.item && r.item.next_event;
    ui.next.dataset.state = !ev ? "none" : needsInspection() ? "blocked" : "ready";
    if (!ev) {
      ui.nextText.textContent = `Not expected at ${state.office}: nothing to record here.`;
      ui.nextKeys.textContent = "Esc to cancel.";
    } else if (needsInspection()) {
      const need = r.screening.lane === "red" ? "an X-ray or physical inspection" : "an inspection (documents are enough)";
      ui.nextText.textContent = `Inspection required first: ${need}. Then: ${nextEventWords(ev)}.`;
      ui.nextKeys.textContent = "Press I to record the inspection.";
    } else {
      ui.nextText.textContent = `Will record: ${nextEventWords(ev)} at ${state.office}.`;
      ui.nextKeys.textContent = r.armed ? "Press Enter to record. Esc to cancel." : "…";
    }
  }

  function clearResult() {
    state.result = null;
    ui.result.hidden = true;
    ui.inspection.hidden = true;
    clearProblem();
    setMode("idle");
  }

  // ---------------------------------------------------------------- actions

  async function screen(scan) {
    const seq = ++state.seq;
    clearResult();
    ui.scan.value = "";
    setMode("busy");
    showMessage(`Screening ${scan.label} ${scan.value}…`, "info");
    try {
      const body = { [scan.field]: scan.value, id: uuid() };
      const { data: screening } = await api("POST", officePath("screenings"), body);
      let item = state.expected.find((i) => i.mrn === screening.mrn) || null;
      try {
        await loadExpected();
        item = state.expected.find((i) => i.mrn === screening.mrn) || item;
      } catch (err) { /* the screening stands; the details are from the last refresh */ }
      if (seq !== state.seq) return; // a newer scan took over
      showMessage(`Screened ${scan.label} ${scan.value}.`, "info");
      showResult({
        screening, item, crossingId: uuid(), inspectionId: uuid(), shownAt: Date.now(),
        inspected: !screening.inspection_required, armed: false,
      });
    } catch (err) {
      if (seq !== state.seq) return;
      showMessage(`Screening ${scan.label} ${scan.value} failed.`, "error");
      showProblem(err);
      setMode("idle");
    }
    focusScan();
  }

  async function record() {
    const r = state.result;
    const ev = r.item.next_event;
    const body = { id: r.crossingId, type: ev.type, office: state.office, at: new Date().toISOString() };
    if (ev.direction) body.direction = ev.direction;
    setMode("recording");
    showMessage(`Recording ${nextEventWords(ev).toLowerCase()}…`, "info");
    try {
      const { data } = await api("POST", `/movements/${encodeURIComponent(r.screening.mrn)}/events`, body);
      clearResult();
      const text = `✔ Recorded ${nextEventWords(ev).toLowerCase()} of ${r.screening.mrn} at ${state.office}` +
        (data && data.state ? ` — now ${data.state.replace(/_/g, " ")}.` : ".");
      showMessage(text, "ok");
      say(text);
      loadExpected().catch(() => {});
    } catch (err) {
      // Keep the result and its event id: pressing Enter again retries without duplicates.
      setMode("result");
      showMessage("Not recorded.", "error");
      showProblem(err);
    }
    focusScan();
  }

  function attemptRecord() {
    const r = state.result;
    if (!r || !r.armed) return;
    if (!r.item || !r.item.next_event) {
      showMessage(`Nothing to record: ${r.screening.mrn} is not expected at ${state.office}.`, "error");
    } else if (needsInspection()) {
      showMessage("Not recorded: an inspection is required first. Press I.", "error");
      say("Inspection required first. Press I.");
    } else {
      record();
    }
  }

  // ---------------------------------------------------------------- inspection

  function openInspection() {
    const r = state.result;
    clearProblem();
    ui.inspectionError.hidden = true;
    const red = r.screening.lane === "red";
    ui.kind.value = red ? "xray" : "documentary";
    ui.kind.querySelector('option[value="documentary"]').disabled = red;
    ui.outcome.value = "no_findings";
    ui.findings.value = "";
    ui.followUp.value = "none";
    const minutes = Math.round((Date.now() - r.shownAt) / 60000);
    ui.duration.value = String(Math.max(0, Math.min(1440, minutes)));
    syncFindings();
    ui.inspectionNeed.textContent = red
      ? "Red lane: an X-ray or physical inspection is needed before the crossing."
      : "Yellow lane: any inspection will do; a documentary check is enough.";
    ui.inspection.hidden = false;
    setMode("inspection");
    ui.kind.focus();
  }

  function closeInspection() {
    ui.inspection.hidden = true;
    setMode(state.result ? "result" : "idle");
    focusScan();
  }

  function syncFindings() {
    const findings = ui.outcome.value === "findings";
    ui.findings.disabled = !findings;
    ui.followUp.disabled = !findings;
    ui.findings.required = findings;
  }

  function inspectionBody() {
    const errors = [];
    const minutes = Number(ui.duration.value);
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > 1440 || ui.duration.value.trim() === "") {
      errors.push({ field: "duration_min", message: "whole minutes, 0 to 1440" });
    }
    const findings = ui.outcome.value === "findings";
    if (findings && !ui.findings.value.trim()) {
      errors.push({ field: "findings", message: "describe the findings" });
    }
    if (state.result.screening.lane === "red" && ui.kind.value === "documentary") {
      errors.push({ field: "kind", message: "a red lane needs an X-ray or physical inspection" });
    }
    const body = {
      id: state.result.inspectionId, type: "inspection", office: state.office,
      at: new Date().toISOString(), kind: ui.kind.value, outcome: ui.outcome.value, duration_min: minutes,
    };
    if (findings) {
      body.findings = ui.findings.value.trim();
      body.follow_up = ui.followUp.value;
    }
    return { body, errors };
  }

  async function saveInspection() {
    const { body, errors } = inspectionBody();
    if (errors.length) {
      renderProblem(ui.inspectionError, new ApiError({ title: "Check the inspection", errors }));
      return;
    }
    const r = state.result;
    if (r.saving) return;
    r.saving = true;
    try {
      await api("POST", `/movements/${encodeURIComponent(r.screening.mrn)}/events`, body);
    } catch (err) {
      renderProblem(ui.inspectionError, err);
      return;
    } finally {
      r.saving = false;
    }
    r.inspected = true;
    ui.inspection.hidden = true;
    setMode("result");
    renderNext();
    renderHints();
    const text = `✔ Inspection recorded (${body.kind}, ${body.outcome.replace("_", " ")}). Press Enter to record ${nextEventWords(r.item && r.item.next_event).toLowerCase() || "the crossing"}.`;
    showMessage(text, "ok");
    say(text);
    focusScan();
  }

  // ---------------------------------------------------------------- expected arrivals

  async function loadExpected() {
    const items = [];
    let cursor = null;
    let pages = 0;
    do {
      const q = new URLSearchParams({ limit: "500" });
      if (cursor) q.set("cursor", cursor);
      const { data } = await api("GET", `${officePath("expected")}?${q}`);
      items.push(...(data.items || []));
      cursor = data.next_cursor;
      pages += 1;
    } while (cursor && pages < 4);
    state.expected = items;
    renderExpected();
    ui.expectedMeta.textContent = `${items.length} expected · updated ${clock(new Date().toISOString())}`;
    return items;
  }

  function optionId(i) {
    return `expected-${i}`;
  }

  function renderExpected() {
    const selectedMrn = state.selected >= 0 && state.expected[state.selected] ? state.expected[state.selected].mrn : null;
    const prev = ui.expected.dataset.selectedMrn || selectedMrn;
    state.selected = state.expected.findIndex((i) => i.mrn === prev);
    ui.expected.replaceChildren(...state.expected.map((item, i) => {
      const lane = LANES[item.lane] ? item.lane : "";
      return el("div", {
        id: optionId(i), role: "option", class: "option", dataset: { index: String(i), mrn: item.mrn },
        "aria-selected": i === state.selected ? "true" : "false",
      },
      el("span", { class: "option-top" },
        el("span", { class: "mono" }, item.vehicle_id || "—"),
        lane ? el("span", { class: "tag", dataset: { lane } }, lane.toUpperCase()) : null),
      el("span", { class: "option-mrn mono" }, item.mrn),
      el("span", { class: "option-sub" },
        `ETA ${clock(item.eta)}${item.eta_source ? ` (${item.eta_source})` : ""} · ${nextEventWords(item.next_event)}`),
      item.inspection_required ? el("span", { class: "option-flag" }, "Inspection required") : null,
      item.open_alerts && item.open_alerts.length ? el("span", { class: "option-flag" }, `Alerts: ${item.open_alerts.join(", ")}`) : null);
    }));
    if (!state.expected.length) {
      ui.expected.append(el("p", { class: "none" }, "Nothing expected."));
    }
    select(state.selected, false);
  }

  function select(index, scroll) {
    const n = state.expected.length;
    state.selected = n ? Math.max(0, Math.min(n - 1, index)) : -1;
    if (index < 0) state.selected = -1;
    for (const node of ui.expected.querySelectorAll('[role="option"]')) {
      node.setAttribute("aria-selected", Number(node.dataset.index) === state.selected ? "true" : "false");
    }
    const current = state.selected >= 0 ? $(optionId(state.selected)) : null;
    if (current) {
      ui.expected.setAttribute("aria-activedescendant", current.id);
      ui.expected.dataset.selectedMrn = state.expected[state.selected].mrn;
      if (scroll) current.scrollIntoView({ block: "nearest" });
    } else {
      ui.expected.removeAttribute("aria-activedescendant");
      delete ui.expected.dataset.selectedMrn;
    }
  }

  function onListKey(e) {
    const n = state.expected.length;
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: 5, PageUp: -5 };
    if (e.key in moves) {
      e.preventDefault();
      select(state.selected < 0 ? 0 : state.selected + moves[e.key], true);
    } else if (e.key === "Home" || e.key === "End") {
      e.preventDefault();
      select(e.key === "Home" ? 0 : n - 1, true);
    } else if (e.key === "Enter") {
      e.preventDefault();
      const item = state.expected[state.selected];
      if (item) screen({ field: "mrn", value: item.mrn, label: "MRN" });
    } else if (e.key === "Escape") {
      e.preventDefault();
      focusScan();
    } else if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) {
      focusScan(); // a scan while the list has focus goes to the scan field
    }
  }

  // ---------------------------------------------------------------- post node

  function pick(obj, ...paths) {
    for (const path of paths) {
      let v = obj;
      for (const k of path.split(".")) v = v && typeof v === "object" ? v[k] : undefined;
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  }

  async function loadPostStatus() {
    if (state.postNode === false) return;
    let status;
    try {
      ({ data: status } = await api("GET", "/post/status"));
    } catch (err) {
      // The main server has no post status: stop asking. A post node answers it.
      if (err.problem && (err.problem.status === 404 || err.problem.status === 405)) state.postNode = false;
      return;
    }
    state.postNode = true;
    const { online, pending, conflicts } = postCounts(status || {});
    ui.post.hidden = false;
    ui.post.dataset.state = online === false ? "offline" : online ? "online" : "unknown";
    const link = online === false ? "OFFLINE" : online ? "online" : "not yet reached";
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    ui.post.textContent = `Post node · upstream ${link} · ${pending} pending · ${plural(conflicts, "conflict")}`;
    ui.post.title = online === false ? "The post node keeps working offline and sends what it records later." : "";
    ui.conflicts.hidden = !conflicts;
    if (conflicts) loadConflicts().catch(() => {});
  }

  /** Upstream link, rows waiting and open conflicts, from the node's status (tolerant of
   *  its exact shape: flat fields, or ``counts`` per kind and status plus ``last_round``). */
  function postCounts(status) {
    let online = pick(status, "upstream.online", "upstream_online", "online", "upstream.reachable",
      "reachable", "last_round.reachable");
    if (typeof online !== "boolean") {
      const word = pick(status, "upstream.state", "upstream", "state");
      online = typeof word === "string" ? word === "online" : undefined;
    }
    const counts = status.counts && typeof status.counts === "object" ? status.counts : {};
    let pending = pick(status, "pending", "pending_count", "outbox.pending");
    if (pending === undefined) {
      pending = Object.entries(counts).filter(([k]) => k.endsWith("_pending")).reduce((n, [, v]) => n + Number(v || 0), 0);
    }
    let conflicts = pick(status, "conflicts_open", "counts.conflicts_open", "conflicts", "conflict_count") ?? 0;
    if (Array.isArray(conflicts)) conflicts = conflicts.length;
    const total = (v) => (v && typeof v === "object" ? Object.values(v).reduce((n, x) => n + (Number(x) || 0), 0) : Number(v) || 0);
    return { online, pending: total(pending), conflicts: total(conflicts) };
  }

  async function loadConflicts() {
    const { data } = await api("GET", "/post/conflicts");
    const items = Array.isArray(data) ? data : (data && data.items) || [];
    ui.conflictList.replaceChildren(...items.map((c) => {
      const body = c.body || c.event || {};
      const answer = c.upstream_answer || c.problem || {};
      const type = c.event_type || body.type || c.type || c.kind || "event";
      const why = c.conflict || (answer && (answer.detail || answer.title)) || c.last_error || c.detail || "";
      return el("li", {},
        el("span", { class: "mono" }, c.mrn || body.mrn || "—"), " ",
        el("strong", {}, EVENT_WORDS[type] || type), " ",
        el("span", {}, clock(c.created_at || body.at || c.at)),
        c.upstream_status ? el("span", {}, ` · upstream ${c.upstream_status}`) : null,
        why ? el("p", { class: "help" }, String(why)) : null);
    }));
  }

  // ---------------------------------------------------------------- refresh loop

  async function refresh() {
    try {
      await loadExpected();
    } catch (err) {
      if (err instanceof ApiError && err.problem.status === 401) return signOut("The token was refused: sign in again.");
      ui.expectedMeta.textContent = `Not updated: ${err.problem ? err.problem.title : err}`;
    }
    await loadPostStatus();
  }

  function startLoop() {
    window.clearInterval(state.timer);
    state.timer = window.setInterval(refresh, REFRESH_MS);
  }

  // ---------------------------------------------------------------- focus and keys

  function focusScan() {
    if (!ui.desk.hidden && state.mode !== "inspection") ui.scan.focus();
  }

  function onKey(e) {
    if (ui.desk.hidden || e.ctrlKey || e.altKey || e.metaKey || e.isComposing) return;
    if (state.mode === "inspection") {
      if (e.key === "Escape") {
        e.preventDefault();
        closeInspection();
      } else if (e.key === "Enter" && e.target.tagName === "SELECT") {
        e.preventDefault(); // a select does not submit its form on Enter by itself
        saveInspection();
      }
      return;
    }
    if (e.target === ui.expected) return onListKey(e);
    if (e.target !== ui.scan) {
      if (e.key === "Escape") { e.preventDefault(); focusScan(); }
      return;
    }
    if (e.key === "Escape") {
      e.preventDefault();
      ui.scan.value = "";
      clearResult();
      showMessage("", "info");
    } else if ((e.key === "ArrowDown" || e.key === "ArrowUp") && state.expected.length) {
      e.preventDefault();
      ui.expected.focus();
      if (state.selected < 0) select(e.key === "ArrowDown" ? 0 : state.expected.length - 1, true);
    } else if (state.mode === "result" && ui.scan.value === "") {
      if (e.key === "Enter") {
        e.preventDefault();
        attemptRecord();
      } else if ((e.key === "i" || e.key === "I") && needsInspection() && state.result.item) {
        e.preventDefault();
        openInspection();
      }
    }
  }

  function keepFocus() {
    // Idle, the scan field has focus: a scanner must never type into nothing.
    window.setTimeout(() => {
      const active = document.activeElement;
      if (!active || active === document.body || active === document.documentElement) focusScan();
    }, 0);
  }

  // ---------------------------------------------------------------- session

  async function signIn(token, office) {
    state.token = token;
    state.office = office;
    await api("GET", `${officePath("expected")}?limit=1`);
    sessionStorage.setItem(STORE.token, token);
    sessionStorage.setItem(STORE.office, office);
  }

  function signOut(reason) {
    sessionStorage.removeItem(STORE.token);
    sessionStorage.removeItem(STORE.office);
    window.clearInterval(state.timer);
    Object.assign(state, { token: "", office: "", result: null, expected: [], selected: -1, postNode: null });
    ui.desk.hidden = true;
    ui.signOut.hidden = true;
    ui.officeLabel.hidden = true;
    ui.post.hidden = true;
    ui.net.hidden = true;
    ui.signin.hidden = false;
    ui.signinToken.value = "";
    if (reason) renderProblem(ui.signinError, new ApiError({ title: reason }));
    else ui.signinError.hidden = true;
    ui.hints.replaceChildren(el("li", {}, el("kbd", {}, "Tab"), " next field"), el("li", {}, el("kbd", {}, "Enter"), " sign in"));
    ui.signinToken.focus();
  }

  async function openDesk() {
    ui.signin.hidden = true;
    ui.desk.hidden = false;
    ui.signOut.hidden = false;
    ui.officeLabel.hidden = false;
    ui.officeLabel.textContent = `Office ${state.office}`;
    ui.expectedHeading.textContent = `Expected at ${state.office}`;
    clearResult();
    showMessage("Ready: scan the MRN, a container number or the plate.", "info");
    focusScan();
    officeName().catch(() => {});
    await refresh();
    startLoop();
  }

  async function officeName() {
    const { data } = await api("GET", "/corridor");
    const office = (data.offices || []).find((o) => o.code === state.office);
    if (office) ui.officeLabel.textContent = `${office.code} · ${office.name}`;
  }

  // ---------------------------------------------------------------- wiring

  ui.signinForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = ui.signinToken.value.trim();
    const office = ui.signinOffice.value.trim().toUpperCase();
    const errors = [];
    if (!token) errors.push({ field: "token", message: "paste the token" });
    if (!/^[A-Z0-9]{2,17}$/.test(office)) errors.push({ field: "office", message: "an office code, e.g. AM000101" });
    if (errors.length) {
      renderProblem(ui.signinError, new ApiError({ title: "Cannot sign in", errors }));
      return;
    }
    try {
      await signIn(token, office);
    } catch (err) {
      state.token = "";
      const p = err.problem || {};
      const why = { 401: "The token was refused.", 403: `This token may not act at ${office}.`, 404: `No office ${office}.` }[p.status];
      renderProblem(ui.signinError, why ? new ApiError({ ...p, title: why }) : err);
      return;
    }
    ui.signinError.hidden = true;
    openDesk();
  });

  ui.signOut.addEventListener("click", () => signOut());
  ui.scanForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const raw = ui.scan.value;
    if (raw.trim()) screen(classify(raw));
  });
  ui.inspection.addEventListener("submit", (e) => { e.preventDefault(); saveInspection(); });
  ui.inspectionCancel.addEventListener("click", closeInspection);
  ui.outcome.addEventListener("change", syncFindings);
  ui.expected.addEventListener("click", (e) => {
    const option = e.target.closest('[role="option"]');
    if (!option) return;
    select(Number(option.dataset.index), false);
    screen({ field: "mrn", value: option.dataset.mrn, label: "MRN" });
  });
  ui.expected.addEventListener("focus", renderHints);
  ui.expected.addEventListener("blur", renderHints);
  document.addEventListener("keydown", onKey);
  document.addEventListener("focusout", keepFocus);
  window.addEventListener("focus", keepFocus);

  const saved = { token: sessionStorage.getItem(STORE.token), office: sessionStorage.getItem(STORE.office) };
  if (saved.token && saved.office) {
    state.token = saved.token;
    state.office = saved.office;
    openDesk();
  } else {
    signOut();
  }
})();
