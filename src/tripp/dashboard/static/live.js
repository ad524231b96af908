// What is on the road now: the vehicles snapshot (GET /dashboard/vehicles) kept current by
// the live stream's position, alert and movement events. Pages subscribe to changes.

import { get } from "./api.js";
import { stream } from "./stream.js";

const OPEN = new Set(["raised", "open", "active", "reraised"]);

export const live = {
  vehicles: new Map(), // mrn -> vehicle
  loaded: false,
  subscribers: new Set(),
  unsubscribe: [],

  onChange(cb) {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  },

  notify(mrn) {
    for (const cb of this.subscribers) cb(mrn);
  },

  async start() {
    this.stop();
    const snapshot = await get("/dashboard/vehicles");
    this.vehicles = new Map((snapshot.vehicles || []).map((v) => [v.mrn, { ...v, alerts: [...(v.alerts || [])] }]));
    this.loaded = true;
    this.unsubscribe = [
      stream.on("position", (p) => this.position(p)),
      stream.on("alert", (a) => this.alert(a)),
      stream.on("movement", (m) => this.movement(m)),
    ];
    stream.start(snapshot.cursor);
    this.notify(null);
  },

  stop() {
    stream.stop();
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.vehicles = new Map();
    this.loaded = false;
  },

  vehicle(mrn) {
    if (!this.vehicles.has(mrn)) this.vehicles.set(mrn, { mrn, status: "in_transit", alerts: [] });
    return this.vehicles.get(mrn);
  },

  position(p) {
    if (!p || !p.mrn) return;
    Object.assign(this.vehicle(p.mrn), { lon: p.lon, lat: p.lat, fixed_at: p.fixed_at, speed_kmh: p.speed_kmh });
    this.notify(p.mrn);
  },

  alert(a) {
    if (!a || !a.mrn) return;
    const v = this.vehicle(a.mrn);
    const others = v.alerts.filter((k) => k !== a.kind);
    v.alerts = OPEN.has(a.state) ? [...others, a.kind] : others;
    this.notify(a.mrn);
  },

  movement(m) {
    if (!m || !m.mrn) return;
    this.vehicle(m.mrn).status = m.status;
    this.notify(m.mrn);
  },

  openAlerts() {
    let n = 0;
    for (const v of this.vehicles.values()) n += v.alerts.length;
    return n;
  },
};

export const isOpenAlertState = (state) => OPEN.has(state);
