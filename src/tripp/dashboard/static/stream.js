// The live stream: GET /dashboard/stream read with fetch() so the token travels in the
// Authorization header (EventSource cannot send one, and a token never goes in a URL).
// Server-sent events are parsed here; on a drop it reconnects with backoff and resumes
// from the last event id (Last-Event-ID).

import { API, headers } from "./api.js";

const BACKOFF_MS = [1000, 2000, 5000, 10000, 30000];

export class LiveStream {
  constructor() {
    this.listeners = new Map(); // event name -> Set of callbacks
    this.lastId = "";
    this.controller = null;
    this.attempt = 0;
    this.timer = 0;
    this.running = false;
    this.state = "idle"; // idle | connecting | live | retrying
  }

  on(name, callback) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(callback);
    return () => this.listeners.get(name).delete(callback);
  }

  emit(name, data) {
    for (const cb of this.listeners.get(name) || []) {
      try { cb(data); } catch (err) { window.setTimeout(() => { throw err; }); }
    }
  }

  /** Start from ``cursor`` (the vehicles snapshot's cursor), or resume from the last id. */
  start(cursor) {
    this.stop();
    if (cursor) this.lastId = String(cursor);
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    window.clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.setState("idle");
  }

  setState(state) {
    this.state = state;
    this.emit("state", state);
  }

  async connect() {
    const controller = new AbortController();
    this.controller = controller;
    this.setState("connecting");
    const h = headers({ Accept: "text/event-stream" });
    if (this.lastId) h["Last-Event-ID"] = this.lastId;
    try {
      const response = await fetch(`${API}/dashboard/stream`, {
        headers: h, signal: controller.signal, cache: "no-store", credentials: "omit",
      });
      if (response.status === 401 || response.status === 403) {
        this.running = false;
        this.setState("refused");
        return;
      }
      if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
      this.attempt = 0;
      this.setState("live");
      await this.read(response.body.getReader());
    } catch (err) {
      if (controller.signal.aborted) return;
    }
    if (this.running && this.controller === controller) this.retry();
  }

  retry() {
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.setState("retrying");
    this.timer = window.setTimeout(() => { if (this.running) this.connect(); }, delay);
  }

  async read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    let event = { name: "message", data: [], id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          this.dispatch(event);
          event = { name: "message", data: [], id: null };
        } else {
          parseLine(line, event);
        }
      }
    }
  }

  dispatch(event) {
    if (event.id !== null) this.lastId = event.id;
    if (!event.data.length) return;
    let data;
    try {
      data = JSON.parse(event.data.join("\n"));
    } catch (err) {
      return; // not ours to understand: skip it, keep the stream
    }
    this.emit(event.name, data);
  }
}

/** One SSE line into the event being built (comments, starting with ':', are keepalives). */
export function parseLine(line, event) {
  if (line.startsWith(":")) return;
  const colon = line.indexOf(":");
  const field = colon < 0 ? line : line.slice(0, colon);
  let value = colon < 0 ? "" : line.slice(colon + 1);
  if (value.startsWith(" ")) value = value.slice(1);
  if (field === "event") event.name = value || "message";
  else if (field === "data") event.data.push(value);
  else if (field === "id" && !value.includes("\0")) event.id = value;
}

export const stream = new LiveStream();
