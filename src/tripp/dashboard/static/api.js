// The API client: the bearer token from this tab's session, problems as ApiError.
// The token goes in the Authorization header only, never in a URL.

export const API = "/api/v1";
const TOKEN_KEY = "tripp.dashboard.token";

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title);
    this.problem = problem;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY) || ""; },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  me: null, // {role, party, country}
  corridor: null, // GET /corridor, for every role but observer
  onUnauthorized: () => {},
};

export function headers(extra) {
  const h = { Accept: "application/json, application/problem+json", ...extra };
  if (session.token) h.Authorization = `Bearer ${session.token}`;
  return h;
}

/** fetch() on the API; resolves with the Response when it is OK, else throws ApiError. */
export async function raw(path, { method = "GET", body, signal, accept } = {}) {
  const h = headers(accept ? { Accept: accept } : {});
  if (body !== undefined) h["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, {
      method, headers: h, signal, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError({ network: true, status: 0, title: "Network down", detail: "The server does not answer." });
  }
  if (response.ok) return response;
  const type = response.headers.get("Content-Type") || "";
  const p = type.includes("json") ? (await response.json().catch(() => null)) || {} : {};
  if (response.status === 401) session.onUnauthorized();
  throw new ApiError({
    status: response.status,
    title: p.title || `HTTP ${response.status}`,
    detail: p.detail || response.statusText || "",
    errors: Array.isArray(p.errors) ? p.errors : [],
  });
}

export async function get(path, opts) {
  return (await raw(path, opts)).json();
}

export async function post(path, body) {
  return (await raw(path, { method: "POST", body })).json();
}

/** A query string of the non-empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Who the token is: GET /dashboard/me when the server has it, else inferred from what the
 *  API allows (observer: no corridor; carrier: no office's arrivals; customs: its own
 *  country's offices only; operator: no guarantees; admin: everything). */
export async function whoAmI() {
  try {
    const me = await get("/dashboard/me");
    if (me && me.role) return { role: me.role, party: me.party || "", country: me.country || null };
  } catch (err) {
    if (!(err instanceof ApiError) || ![404, 405].includes(err.problem.status)) throw err;
  }
  return infer();
}

async function allowed(path) {
  try {
    await raw(path);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.problem.status === 403) return false;
    if (err instanceof ApiError && err.problem.status === 404) return true;
    throw err;
  }
}

async function infer() {
  let corridor;
  try {
    corridor = await get("/corridor");
  } catch (err) {
    if (err instanceof ApiError && err.problem.status === 403) return { role: "observer", party: "", country: null };
    throw err;
  }
  session.corridor = corridor;
  const byCountry = new Map();
  for (const o of corridor.offices || []) if (!byCountry.has(o.country)) byCountry.set(o.country, o.code);
  const watched = [];
  for (const [country, code] of byCountry) {
    if (await allowed(`/offices/${encodeURIComponent(code)}/expected?limit=1`)) watched.push(country);
  }
  if (watched.length === 0) return { role: "carrier", party: "", country: null };
  if (watched.length < byCountry.size) return { role: "customs", party: "", country: watched[0] };
  const seesGuarantees = await allowed("/guarantees/PROBE0NONE");
  return { role: seesGuarantees ? "admin" : "operator", party: "", country: null };
}

/** Save a fetched body as a file (CSV, reports): through a blob URL, never a token URL. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}
