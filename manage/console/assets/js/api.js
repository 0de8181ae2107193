// api.js: the console's only way to the daemon, the same JSON API vicfg
// uses. The session token lives in this module's memory only (no cookie,
// no storage): a reload logs out, and no other page can send it.

let token = '';
let unauthorized = () => {};

// ApiError is a refused or failed request, with the server's message.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function setToken(t) { token = t || ''; }
export function loggedIn() { return token !== ''; }

// onUnauthorized sets what happens when the server says the session is
// gone (expired, revoked, the daemon restarted): back to the login page.
export function onUnauthorized(fn) { unauthorized = fn; }

// request sends one API call and returns its decoded JSON answer; an error
// answer throws an ApiError carrying the server's {"error": ...} message.
export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `the daemon does not answer (${e.message})`);
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const msg = data && typeof data.error === 'string' ? data.error : `${resp.status} ${resp.statusText || 'error'}`;
    if (resp.status === 401 && token) {
      token = '';
      unauthorized(msg);
    }
    throw new ApiError(resp.status, msg);
  }
  return data;
}

export const get = (path) => request('GET', path);
export const patch = (path, body) => request('PATCH', path, body);
export const put = (path, body) => request('PUT', path, body);
export const post = (path, body) => request('POST', path, body);
export const del = (path) => request('DELETE', path);

// notAvailable reports whether err means the endpoint does not exist on
// this daemon (an older one): the page shows "not available".
export function notAvailable(err) {
  return err instanceof ApiError && (err.status === 404 || err.status === 405);
}
