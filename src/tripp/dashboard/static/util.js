// Small DOM and formatting helpers shared by the dashboard's pages.

export const $ = (id) => document.getElementById(id);

/** An element with attributes (class, dataset, others as attributes) and children. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element; text children become text nodes. */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k === "dataset") {
      // setAttribute is several times faster than the dataset proxy: it shows with the
      // map's thousands of markers. Keys are camelCase, as with dataset.
      for (const [dk, dv] of Object.entries(v)) {
        node.setAttribute(`data-${dk.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(dv));
      }
    }
    else node.setAttribute(k, v === true ? "" : String(v));
  }
}

// Intl formatters are costly to make and toLocale*String makes one per call: the map's
// list formats thousands of times in one render, so each kind is made once.
const formats = new Map();

function format(key, make) {
  if (!formats.has(key)) formats.set(key, make());
  return formats.get(key);
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return format("when", () => new Intl.DateTimeFormat([], { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })).format(d);
}

export function clock(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return format("clock", () => new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" })).format(d);
}

/** "in_transit" -> "in transit". */
export const human = (word) => (word ? String(word).replace(/_/g, " ") : "—");

export function number(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return format(`number:${digits}`, () => new Intl.NumberFormat([], { maximumFractionDigits: digits })).format(Number(value));
}

export function say(text) {
  const box = $("announce");
  box.textContent = "";
  window.setTimeout(() => { box.textContent = text; }, 30);
}

/** Fill a problem box from an ApiError (or anything thrown). */
export function showProblem(box, err) {
  const p = err && err.problem ? err.problem : { title: "Error", detail: String(err) };
  box.replaceChildren(
    el("p", { class: "problem-title" }, p.status ? `${p.title} (${p.status})` : p.title),
    p.detail ? el("p", {}, p.detail) : null,
    p.errors && p.errors.length
      ? el("ul", {}, p.errors.map((e) => el("li", {}, el("code", {}, e.field || "body"), ": ", e.message || "")))
      : null,
  );
  box.hidden = false;
}

export function hideProblem(box) {
  box.hidden = true;
  box.replaceChildren();
}

export const MRN_RE = /^[0-9]{2}[A-Z]{2}[A-Z0-9]{14}$/;
