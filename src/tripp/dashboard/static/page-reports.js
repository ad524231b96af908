// Simulator reports: the list, and a report's files fetched with the token and shown
// through blob URLs (PNG charts inline; the self-contained HTML page saved to open).

import { get, raw, saveBlob } from "./api.js";
import { $, el, when, showProblem, hideProblem } from "./util.js";

let urls = [];
let wired = false;

function forget() {
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
}

function fileButton(report, file) {
  const kind = file.endsWith(".png") ? "View" : file.endsWith(".html") ? "Save" : "Download";
  return el("button", {
    type: "button", class: "file", dataset: { report: report.name, file },
    "aria-label": `${kind} ${file} of ${report.name}`,
  }, file);
}

async function open(name, file) {
  const box = $("reports-problem");
  hideProblem(box);
  try {
    const response = await raw(`/dashboard/sim-reports/${encodeURIComponent(name)}/${encodeURIComponent(file)}`, { accept: "*/*" });
    const blob = await response.blob();
    const view = $("report-view");
    $("report-view-heading").textContent = `${name} · ${file}`;
    if (file.endsWith(".png")) {
      forget();
      const url = URL.createObjectURL(blob);
      urls.push(url);
      $("report-content").replaceChildren(el("img", { src: url, alt: `${file} of simulator report ${name}`, class: "report-img" }));
    } else {
      // The page's policy (scripts and styles of this origin only) would strip an inline
      // report of its own styles: it is saved and opens as a file, self-contained.
      saveBlob(blob, `${name}-${file}`);
      $("report-content").replaceChildren(el("p", {}, `Saved ${name}-${file}: open it from your downloads; it needs no network.`));
    }
    view.hidden = false;
  } catch (err) {
    showProblem(box, err);
  }
}

export async function show() {
  const box = $("reports-problem");
  hideProblem(box);
  if (!wired) {
    wired = true;
    $("report-rows").addEventListener("click", (e) => {
      const b = e.target.closest("button.file");
      if (b) open(b.dataset.report, b.dataset.file);
    });
  }
  try {
    const reports = await get("/dashboard/sim-reports");
    $("report-rows").replaceChildren(...reports.map((r) => el("tr", { dataset: { name: r.name } },
      el("td", { class: "mono" }, r.name), el("td", {}, r.scenario || "—"), el("td", {}, when(r.created_at)),
      el("td", { class: "files" }, (r.files || []).map((f) => fileButton(r, f))))));
    if (!reports.length) $("report-rows").append(el("tr", {}, el("td", { colspan: "4", class: "none" }, "No report yet: run tripp sim run.")));
  } catch (err) {
    showProblem(box, err);
  }
}

export function hide() {}

export function reset() {
  forget();
  $("report-view").hidden = true;
}
