// An SVG map of the corridor: an equirectangular projection (longitudes shrunk by the cosine
// of the mid latitude) fitted to the layers' bbox, with pan and zoom by the viewBox.

import { svg } from "./util.js";

const WIDTH = 1000;
const LAYER_ORDER = ["river", "border", "route", "office"];

export class CorridorMap {
  /** ``root``: an empty <svg>; ``layers``: the FeatureCollection of /dashboard/layers. */
  constructor(root, layers) {
    this.root = root;
    const [w, s, e, n] = layers.bbox || bboxOf(layers.features || []);
    this.west = w;
    this.north = n;
    this.kx = Math.cos((((s + n) / 2) * Math.PI) / 180);
    this.scale = WIDTH / Math.max((e - w) * this.kx, 1e-6);
    this.height = Math.max((n - s) * this.scale, 1);
    this.home = this.corridorView(layers.features || []);
    this.view = { ...this.home };
    root.replaceChildren();
    root.setAttribute("preserveAspectRatio", "xMidYMid meet");
    this.groups = {};
    for (const name of [...LAYER_ORDER, "track", "vehicles"]) {
      this.groups[name] = svg("g", { class: `layer layer-${name}` });
      root.append(this.groups[name]);
    }
    for (const f of layers.features || []) this.draw(f);
    this.apply();
  }

  /** The view that fits the routes and offices (the borders and river are context). */
  corridorView(features) {
    const own = features.filter((f) => ["route", "office"].includes((f.properties || {}).layer));
    if (!own.length) return { x: 0, y: 0, w: WIDTH, h: this.height };
    const [w, s, e, n] = bboxOf(own);
    const [x0, y0] = this.project([w, n]);
    const [x1, y1] = this.project([e, s]);
    const pad = Math.max(x1 - x0, y1 - y0, 20) * 0.12;
    return { x: x0 - pad, y: y0 - pad, w: x1 - x0 + 2 * pad, h: y1 - y0 + 2 * pad };
  }

  /** [lon, lat] -> [x, y] in the map's user units. */
  project([lon, lat]) {
    return [(lon - this.west) * this.kx * this.scale, (this.north - lat) * this.scale];
  }

  path(coords) {
    return coords.map((c, i) => {
      const [x, y] = this.project(c);
      return `${i ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
    }).join("");
  }

  geometryPath(g) {
    if (!g) return "";
    switch (g.type) {
      case "LineString": return this.path(g.coordinates);
      case "MultiLineString": return g.coordinates.map((l) => this.path(l)).join("");
      case "Polygon": return g.coordinates.map((r) => `${this.path(r)}Z`).join("");
      case "MultiPolygon": return g.coordinates.flat().map((r) => `${this.path(r)}Z`).join("");
      default: return "";
    }
  }

  draw(feature) {
    const p = feature.properties || {};
    const layer = LAYER_ORDER.includes(p.layer) ? p.layer : "route";
    const g = feature.geometry;
    if (!g) return;
    if (g.type === "Point") {
      const [x, y] = this.project(g.coordinates);
      const label = `${p.name || p.code || "office"}${p.code ? ` (${p.code})` : ""}`;
      this.groups[layer].append(svg("g", { class: "office", transform: `translate(${x} ${y})`, dataset: { code: p.code || "", x, y } },
        svg("title", {}, `${label}${p.role ? ` · ${p.role}` : ""}`),
        svg("rect", { class: "office-mark", x: -5, y: -5, width: 10, height: 10 }),
        svg("text", { class: "office-label", x: 8, y: 4 }, p.name || p.code || "")));
      return;
    }
    this.groups[layer].append(svg("path", { class: layer, d: this.geometryPath(g), dataset: { name: p.name || "" } }));
  }

  /** The movement's track (a GeoJSON Feature from /movements/{mrn}/track). */
  showTrack(feature) {
    this.groups.track.replaceChildren();
    const g = feature && feature.geometry;
    if (!g) return;
    if (g.type !== "Point") this.groups.track.append(svg("path", { class: "track", d: this.geometryPath(g) }));
    const last = g.type === "Point" ? g.coordinates : g.coordinates[g.coordinates.length - 1];
    const [x, y] = this.project(last);
    this.groups.track.append(svg("g", { class: "track-end", dataset: { x, y } }, svg("circle", { class: "track-point", r: 6 })));
    this.apply();
  }

  // ---------------------------------------------------------------- pan and zoom

  apply() {
    const v = this.view;
    this.root.setAttribute("viewBox", `${v.x.toFixed(1)} ${v.y.toFixed(1)} ${v.w.toFixed(1)} ${v.h.toFixed(1)}`);
    // markers and labels keep their size on screen (in CSS pixels) whatever the zoom
    const pixels = this.root.clientWidth || 800;
    this.fit = Math.max(v.w / pixels, v.h / (this.root.clientHeight || pixels * 0.6));
    for (const node of this.root.querySelectorAll(".office, .vehicle, .track-end")) this.place(node);
  }

  /** Put a marker (data-x, data-y) at its point, at the current zoom's size. */
  place(node) {
    if (this.fit === undefined) this.apply();
    const [x, y] = [Number(node.dataset.x), Number(node.dataset.y)];
    if (!Number.isNaN(x)) node.setAttribute("transform", `translate(${x} ${y}) scale(${this.fit})`);
  }

  zoom(factor, cx, cy) {
    const v = this.view;
    const w = Math.min(Math.max(v.w / factor, this.home.w / 40), WIDTH * 1.5);
    const h = (w * v.h) / v.w;
    const x0 = cx ?? v.x + v.w / 2;
    const y0 = cy ?? v.y + v.h / 2;
    this.view = { x: x0 - ((x0 - v.x) * w) / v.w, y: y0 - ((y0 - v.y) * h) / v.h, w, h };
    this.apply();
  }

  pan(dx, dy) {
    this.view.x += dx * this.view.w;
    this.view.y += dy * this.view.h;
    this.apply();
  }

  reset() {
    this.view = { ...this.home };
    this.apply();
  }

  /** Wheel zoom, drag to pan, arrow keys and +/− on the focused map. */
  interactive() {
    window.addEventListener("resize", () => this.apply());
    const toUser = (e) => {
      const r = this.root.getBoundingClientRect();
      const s = Math.max(this.view.w / r.width, this.view.h / r.height);
      const ox = (r.width * s - this.view.w) / 2;
      const oy = (r.height * s - this.view.h) / 2;
      return [this.view.x + (e.clientX - r.left) * s - ox, this.view.y + (e.clientY - r.top) * s - oy, s];
    };
    this.root.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [x, y] = toUser(e);
      this.zoom(e.deltaY < 0 ? 1.25 : 0.8, x, y);
    }, { passive: false });
    let drag = null;
    this.root.addEventListener("pointerdown", (e) => {
      if (e.target.closest(".vehicle")) return;
      drag = { x: e.clientX, y: e.clientY, s: toUser(e)[2] };
      this.root.setPointerCapture(e.pointerId);
    });
    this.root.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.view.x -= (e.clientX - drag.x) * drag.s;
      this.view.y -= (e.clientY - drag.y) * drag.s;
      drag.x = e.clientX;
      drag.y = e.clientY;
      this.apply();
    });
    const end = () => { drag = null; };
    this.root.addEventListener("pointerup", end);
    this.root.addEventListener("pointercancel", end);
    this.root.addEventListener("keydown", (e) => {
      if (e.target !== this.root) return;
      const moves = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1] };
      if (moves[e.key]) this.pan(...moves[e.key]);
      else if (e.key === "+" || e.key === "=") this.zoom(1.25);
      else if (e.key === "-" || e.key === "_") this.zoom(0.8);
      else if (e.key === "0") this.reset();
      else return;
      e.preventDefault();
    });
  }
}

function bboxOf(features) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(visit);
  };
  for (const f of features) if (f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(box[0]) ? box : [0, 0, 1, 1];
}
