// The parties around the relying party in tests/rp: a cookie-keeping "browser" and a
// login/consent/logout app that is nothing but plain HTTP calls to the admin API. Neither
// knows anything about Portcullis beyond Hydra's documented HTTP API (hydra-reference §2.5,
// §4.2-§4.7). tests/rp/run.sh starts the server and sets PORTCULLIS_PUBLIC_URL and
// PORTCULLIS_ADMIN_URL; it also points urls.login/consent/logout at the built-in pages under
// /oauth2/fallbacks/ on the public listener, where the browser stops and reads the challenge.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';

const HTTP_TIMEOUT_MS = 10_000;

function urlFromEnv(name) {
  const value = process.env[name];
  // Fail, never skip: CI must not pass an interop run that tested nothing.
  if (!value) throw new Error(`${name} is not set (run tests/rp/run.sh)`);
  return value.replace(/\/+$/, '');
}

export const PUBLIC_URL = urlFromEnv('PORTCULLIS_PUBLIC_URL');
export const ADMIN_URL = urlFromEnv('PORTCULLIS_ADMIN_URL');
/** run.sh makes the public listener the issuer (URLS_SELF_ISSUER, with Hydra's slash). */
export const ISSUER = `${PUBLIC_URL}/`;

const STOPS = {
  '/oauth2/fallbacks/login': 'login',
  '/oauth2/fallbacks/consent': 'consent',
  '/oauth2/fallbacks/logout': 'logout',
  '/oauth2/fallbacks/error': 'error',
  '/oauth2/fallbacks/logout/callback': 'logged-out',
};

export function unique(prefix) {
  return `${prefix}-${randomUUID()}`;
}

/** A port on 127.0.0.1 that was free a moment ago; nothing listens there during the test. */
export async function freePort() {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `{name: value}` of a URL's query; every name must occur once. */
export function singleQuery(url) {
  const params = new URL(url).searchParams;
  const out = {};
  for (const [name, value] of params) {
    assert.ok(!(name in out), `${name} twice in ${url}`);
    out[name] = value;
  }
  return out;
}

/**
 * A user agent: Node's fetch with `redirect: 'manual'`, Location followed by hand, cookies
 * kept in a Map as a browser keeps them for one host (RFC 6265 §5.3 in the parts that matter
 * here: replacement by name, deletion by Max-Age <= 0 or an Expires in the past, Path
 * prefixes, Secure cookies never sent over http).
 */
export class Browser {
  constructor() {
    /** name -> {value, path, secure} */
    this.cookies = new Map();
    this.server = new URL(PUBLIC_URL).origin;
  }

  storeCookies(url, response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      assert.ok(eq > 0, `malformed Set-Cookie: ${line}`);
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = null;
      let secure = false;
      let expired = false;
      for (const attr of attrs) {
        const [k, ...v] = attr.split('=');
        const key = k.trim().toLowerCase();
        const val = v.join('=').trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        else if (key === 'secure') secure = true;
        else if (key === 'max-age') expired ||= Number(val) <= 0;
        else if (key === 'expires') expired ||= Date.parse(val) <= Date.now();
      }
      if (path === null) {
        // The default path: the request path up to its last '/'.
        const p = new URL(url).pathname;
        path = p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '/';
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, { value, path, secure });
    }
  }

  cookieHeader(url) {
    const u = new URL(url);
    const pairs = [];
    for (const [name, c] of this.cookies) {
      if (c.secure && u.protocol !== 'https:') continue;
      const inPath =
        u.pathname === c.path ||
        (u.pathname.startsWith(c.path) && (c.path.endsWith('/') || u.pathname[c.path.length] === '/'));
      if (inPath) pairs.push(`${name}=${c.value}`);
    }
    return pairs.join('; ');
  }

  hasCookie(prefix) {
    return [...this.cookies.keys()].some((name) => name.startsWith(prefix));
  }

  /** One GET, no redirect followed; the response (cookies already stored). */
  async get(url) {
    const headers = {};
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    const response = await fetch(url, {
      redirect: 'manual',
      headers,
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    this.storeCookies(url, response);
    return response;
  }

  /**
   * Follows redirects from `url` until it leaves the server (`{kind: 'callback'}`: a client's
   * redirect or post-logout URI, never fetched) or reaches one of the built-in pages
   * (`login`/`consent`/`logout` with its challenge, `error` with its query, `logged-out`).
   */
  async go(url, maxHops = 10) {
    for (let hop = 0; hop < maxHops; hop++) {
      const u = new URL(url);
      if (u.origin !== this.server) return { kind: 'callback', url };
      const kind = STOPS[u.pathname];
      if (kind !== undefined) {
        const stop = { kind, url, params: singleQuery(url) };
        if (['login', 'consent', 'logout'].includes(kind)) {
          const name = `${kind}_challenge`;
          assert.deepEqual(Object.keys(stop.params), [name], url);
          assert.ok(stop.params[name], url);
          stop.challenge = stop.params[name];
        }
        return stop;
      }
      const response = await this.get(url);
      const body = await response.text();
      assert.equal(response.status, 302, `${url}: ${response.status} ${body}`);
      const location = response.headers.get('location');
      assert.ok(location, `${url}: 302 without Location`);
      url = new URL(location, url).href;
    }
    assert.fail(`more than ${maxHops} redirects, last at ${url}`);
  }
}

// --- the login/consent/logout app: plain HTTP calls to the admin API ----------------------

async function adminCall(method, path, body, expectStatus) {
  const init = { method, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS), headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${ADMIN_URL}${path}`, init);
  const text = await response.text();
  assert.equal(response.status, expectStatus, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const q = encodeURIComponent;

export const admin = {
  createClient: (client) => adminCall('POST', '/clients', client, 201),
  deleteClient: (id) => adminCall('DELETE', `/clients/${q(id)}`, undefined, 204),

  getLogin: (c) => adminCall('GET', `/oauth2/auth/requests/login?login_challenge=${q(c)}`, undefined, 200),
  acceptLogin: (c, body) =>
    adminCall('PUT', `/oauth2/auth/requests/login/accept?login_challenge=${q(c)}`, body, 200),
  getConsent: (c) => adminCall('GET', `/oauth2/auth/requests/consent?consent_challenge=${q(c)}`, undefined, 200),
  acceptConsent: (c, body) =>
    adminCall('PUT', `/oauth2/auth/requests/consent/accept?consent_challenge=${q(c)}`, body, 200),
  getLogout: (c) => adminCall('GET', `/oauth2/auth/requests/logout?logout_challenge=${q(c)}`, undefined, 200),
  /** Hydra's accept takes no body. */
  acceptLogout: (c) =>
    adminCall('PUT', `/oauth2/auth/requests/logout/accept?logout_challenge=${q(c)}`, undefined, 200),
  /** The status of a GET of a request (410 once it is completed). */
  async requestStatus(kind, c) {
    const response = await fetch(`${ADMIN_URL}/oauth2/auth/requests/${kind}?${kind}_challenge=${q(c)}`, {
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    return { status: response.status, body: await response.json() };
  },
  async introspect(token) {
    const response = await fetch(`${ADMIN_URL}/oauth2/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `introspect: ${response.status} ${text}`);
    return JSON.parse(text);
  },
};

/** The clients a test created; deleted afterwards (a 404 means the test deleted it). */
export function clientRegistry() {
  const ids = [];
  return {
    async create(client) {
      ids.push(client.client_id);
      return await admin.createClient(client);
    },
    async cleanup() {
      for (const id of ids.splice(0)) {
        const response = await fetch(`${ADMIN_URL}/clients/${q(id)}`, {
          method: 'DELETE',
          signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
        });
        assert.ok([204, 404].includes(response.status), `DELETE /clients/${id}: ${response.status}`);
      }
    },
  };
}
