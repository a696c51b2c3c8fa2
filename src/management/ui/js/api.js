// The management API client: basic-auth credentials kept in sessionStorage (as RabbitMQ's UI keeps
// them for the browser session), JSON in and out, RabbitMQ's {error, reason} turned into ApiError.
// Credentials go only in the Authorization header we set; `credentials: 'omit'` keeps the browser
// from popping its own login dialog on a 401.

const KEY = 'amqpd.auth';

export class ApiError extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

/** Base64 of UTF-8 `user:pass`. */
function basicToken(user, pass) {
  const bytes = new TextEncoder().encode(`${user}:${pass}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function setCredentials(user, pass) {
  sessionStorage.setItem(KEY, basicToken(user, pass));
}

export function clearCredentials() {
  sessionStorage.removeItem(KEY);
}

export function hasCredentials() {
  return sessionStorage.getItem(KEY) !== null;
}

/** Called on any 401 (the app shows the login page). */
let unauthorized = () => {};
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** One API call: `api('GET', '/queues')`. Resolves to the parsed body (undefined when empty). */
export async function api(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  const token = sessionStorage.getItem(KEY);
  if (token !== null) headers.authorization = `Basic ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: 'omit',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    // A 401 is either a refused action (no permission there) or a login that no longer works.
    if (res.status === 401 && !path.startsWith('/whoami')) void checkSession();
    throw new ApiError(res.status, (json && (json.reason || json.error)) || res.statusText);
  }
  return json;
}

/** After a 401: back to the login page only when the credentials themselves are refused. */
async function checkSession() {
  try {
    await api('GET', '/whoami');
  } catch (err) {
    if (err.status === 401) unauthorized();
  }
}

/** A path segment (the vhost `/` becomes %2F, as the API expects). */
export const seg = (s) => encodeURIComponent(s);
