// The map layers (GET /dashboard/layers), fetched once per sign-in.

import { get } from "./api.js";

let cached = null;

export function layers() {
  if (!cached) cached = get("/dashboard/layers").catch((err) => { cached = null; throw err; });
  return cached;
}

export function forgetLayers() {
  cached = null;
}
