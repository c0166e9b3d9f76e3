// Relying-party interop: openid-client (a certified OpenID Connect relying-party library, on
// oauth4webapi and jose) against a live Portcullis, as a web application would use it:
// discovery from the issuer, the authorization code flow with PKCE (S256), state and nonce,
// ID-token validation by the library (claims, and with non-repudiation checks the RS256
// signature against the published JWKS), userinfo, the refresh grant, and RP-initiated
// logout with the end-session URL the library builds (id_token_hint,
// post_logout_redirect_uri, state), after which the browser needs a fresh login
// (hydra-reference §2.2, §2.5, §4.2-§4.7; issues 7 and 8). Run by tests/rp/run.sh.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';

import {
  Browser,
  ISSUER,
  PUBLIC_URL,
  admin,
  clientRegistry,
  freePort,
  singleQuery,
  unique,
} from './support.js';

const SCOPE = 'openid offline_access rp.read';
const AUDIENCE = 'https://api.rp-interop.example';
const ACR = 'urn:rp-interop:acr:password';
const AUTH_SESSION_COOKIE = 'oauth2_authentication_session';

/** Client metadata as the admin API takes it (Hydra's `oAuth2Client`). */
function clientMetadata(base, method, extra = {}) {
  return {
    client_id: unique('rp'),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`${base}/callback`],
    post_logout_redirect_uris: [`${base}/logged-out`],
    scope: SCOPE,
    audience: [AUDIENCE],
    token_endpoint_auth_method: method,
    ...extra,
  };
}

/**
 * openid-client's Configuration from discovery of the issuer. `allowInsecureRequests` lifts
 * the library's https-only rule (run.sh serves plain http on 127.0.0.1) for discovery and
 * every later request; `enableNonRepudiationChecks` makes it verify every ID token's
 * signature against `jwks_uri` too, not only its claims.
 */
async function discover(registered) {
  const auth =
    registered.token_endpoint_auth_method === 'none'
      ? oidc.None()
      : registered.token_endpoint_auth_method === 'client_secret_post'
        ? oidc.ClientSecretPost(registered.client_secret)
        : oidc.ClientSecretBasic(registered.client_secret);
  const config = await oidc.discovery(
    new URL(ISSUER),
    registered.client_id,
    { id_token_signed_response_alg: 'RS256' },
    auth,
    { execute: [oidc.allowInsecureRequests] },
  );
  oidc.enableNonRepudiationChecks(config);
  return config;
}

/**
 * The front channel of one authorization: the library builds the URL (PKCE S256, state,
 * nonce), the browser walks, the admin API logs in (remembered, so that there is a session
 * to log out of) and consents. Returns what the RP keeps and what came back.
 */
async function authorize(browser, config, client, subject, idTokenClaims = {}) {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirect_uris[0],
    scope: SCOPE,
    audience: AUDIENCE,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  assert.equal(url.origin + url.pathname, `${PUBLIC_URL}/oauth2/auth`);

  let stop = await browser.go(url.href);
  assert.equal(stop.kind, 'login', stop.url);
  const login = await admin.getLogin(stop.challenge);
  assert.equal(login.client.client_id, client.client_id);
  assert.equal(login.request_url, url.href);
  assert.deepEqual(login.requested_scope, SCOPE.split(' '));
  let done = await admin.acceptLogin(login.challenge, {
    subject,
    remember: true,
    remember_for: 3600,
    acr: ACR,
  });

  stop = await browser.go(done.redirect_to);
  assert.equal(stop.kind, 'consent', stop.url);
  const consent = await admin.getConsent(stop.challenge);
  assert.equal(consent.subject, subject);
  done = await admin.acceptConsent(consent.challenge, {
    grant_scope: consent.requested_scope,
    grant_access_token_audience: consent.requested_access_token_audience,
    session: { id_token: idTokenClaims, access_token: { via: 'openid-client' } },
  });

  stop = await browser.go(done.redirect_to);
  assert.equal(stop.kind, 'callback', stop.url);
  assert.ok(stop.url.startsWith(`${client.redirect_uris[0]}?`), stop.url);
  return { callback: new URL(stop.url), codeVerifier, nonce, state, login, consent };
}

/** The library redeems the code: PKCE verifier, state and nonce checked, ID token required. */
async function exchange(config, auth) {
  return await oidc.authorizationCodeGrant(config, auth.callback, {
    pkceCodeVerifier: auth.codeVerifier,
    expectedState: auth.state,
    expectedNonce: auth.nonce,
    idTokenExpected: true,
  });
}

/** A new /oauth2/auth in this browser: the login request it leads to. */
async function nextLogin(browser, config, client) {
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirect_uris[0],
    scope: 'openid',
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const stop = await browser.go(url.href);
  assert.equal(stop.kind, 'login', stop.url);
  return await admin.getLogin(stop.challenge);
}

/** A logout challenge: the accept's redirect_to goes back to the end-session endpoint. */
async function acceptLogout(challenge) {
  const { redirect_to: redirectTo } = await admin.acceptLogout(challenge);
  const to = new URL(redirectTo);
  assert.equal(to.origin + to.pathname, `${PUBLIC_URL}/oauth2/sessions/logout`, redirectTo);
  assert.deepEqual(Object.keys(singleQuery(redirectTo)), ['logout_verifier'], redirectTo);
  return redirectTo;
}

describe('openid-client against Portcullis', () => {
  const clients = clientRegistry();
  let base;

  before(async () => {
    // Redirect and post-logout URIs at a port nobody listens on: the browser stops there.
    base = `http://127.0.0.1:${await freePort()}`;
  });

  after(async () => {
    await clients.cleanup();
  });

  test('discovery', async () => {
    const client = await clients.create(clientMetadata(base, 'client_secret_basic'));
    const config = await discover(client);
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, ISSUER);
    assert.equal(meta.authorization_endpoint, `${PUBLIC_URL}/oauth2/auth`);
    assert.equal(meta.token_endpoint, `${PUBLIC_URL}/oauth2/token`);
    assert.equal(meta.userinfo_endpoint, `${PUBLIC_URL}/userinfo`);
    assert.equal(meta.jwks_uri, `${PUBLIC_URL}/.well-known/jwks.json`);
    assert.equal(meta.end_session_endpoint, `${PUBLIC_URL}/oauth2/sessions/logout`);
    assert.ok(meta.supportsPKCE('S256'), 'code_challenge_methods_supported has S256');
    assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
    assert.equal(config.clientMetadata().client_id, client.client_id);
  });

  test('code flow with PKCE and nonce, userinfo, refresh, RP-initiated logout', async () => {
    const client = await clients.create(clientMetadata(base, 'client_secret_basic'));
    assert.ok(client.client_secret, 'the secret, once, at creation');
    const config = await discover(client);
    const browser = new Browser();
    const subject = unique('rp-user');
    const extra = { email: 'alice@rp-interop.example', email_verified: true };

    // 1. Front channel, then the library redeems the code (client_secret_basic).
    const auth = await authorize(browser, config, client, subject, extra);
    assert.deepEqual(Object.keys(singleQuery(auth.callback.href)).sort(), ['code', 'scope', 'state']);
    assert.ok(browser.hasCookie(AUTH_SESSION_COOKIE), 'a remembered login sets the session cookie');
    const tokens = await exchange(config, auth);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, SCOPE);
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
    assert.ok(tokens.expiresIn() > 3500 && tokens.expiresIn() <= 3600, String(tokens.expiresIn()));

    // 2. The ID token the library validated (signature, iss, aud, exp, iat, nonce).
    const claims = tokens.claims();
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.sub, subject);
    assert.deepEqual(claims.aud, [client.client_id]);
    assert.equal(claims.nonce, auth.nonce);
    assert.equal(claims.acr, ACR);
    assert.equal(claims.sid, auth.login.session_id);
    assert.equal(claims.email, extra.email);
    assert.equal(claims.email_verified, true);
    assert.equal(typeof claims.auth_time, 'number');

    // The access token carries the grant (the admin API introspects it).
    const intro = await admin.introspect(tokens.access_token);
    assert.equal(intro.active, true);
    assert.equal(intro.sub, subject);
    assert.equal(intro.client_id, client.client_id);
    assert.deepEqual(intro.aud, [AUDIENCE]);
    assert.deepEqual(intro.ext, { via: 'openid-client' });

    // 3. userinfo: the library checks that `sub` is the ID token's.
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.sub, subject);
    assert.equal(info.email, extra.email);
    assert.equal(info.email_verified, true);

    // 4. The refresh grant: new tokens, a new ID token validated by the library (same sub,
    //    same login session).
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.ok(refreshed.id_token);
    const refreshedClaims = refreshed.claims();
    for (const key of ['iss', 'sub', 'acr', 'sid', 'auth_time', 'email']) {
      assert.deepEqual(refreshedClaims[key], claims[key], key);
    }
    assert.notEqual(refreshedClaims.jti, claims.jti);
    assert.equal((await admin.introspect(tokens.access_token)).active, false);
    const info2 = await oidc.fetchUserInfo(config, refreshed.access_token, subject);
    assert.equal(info2.sub, subject);

    // 5. RP-initiated logout: the library builds the end-session URL from discovery.
    const postLogout = client.post_logout_redirect_uris[0];
    const logoutState = oidc.randomState();
    const endSession = oidc.buildEndSessionUrl(config, {
      id_token_hint: refreshed.id_token,
      post_logout_redirect_uri: postLogout,
      state: logoutState,
    });
    assert.equal(endSession.origin + endSession.pathname, `${PUBLIC_URL}/oauth2/sessions/logout`);
    assert.equal(endSession.searchParams.get('client_id'), client.client_id);

    //    The browser lands on the logout UI (urls.logout) with a challenge...
    let stop = await browser.go(endSession.href);
    assert.equal(stop.kind, 'logout', stop.url);
    const logout = await admin.getLogout(stop.challenge);
    assert.equal(logout.challenge, stop.challenge);
    assert.equal(logout.rp_initiated, true);
    assert.equal(logout.subject, subject);
    assert.equal(logout.sid, claims.sid);
    assert.equal(logout.request_url, endSession.pathname + endSession.search);
    assert.equal(logout.client.client_id, client.client_id);
    assert.ok(!('client_secret' in logout.client));

    //    ...which accepts it through the admin API; redirect_to completes the logout and
    //    sends the browser to the registered post-logout URI with the RP's state.
    const redirectTo = await acceptLogout(stop.challenge);
    stop = await browser.go(redirectTo);
    assert.equal(stop.kind, 'callback', stop.url);
    const back = new URL(stop.url);
    assert.equal(back.origin + back.pathname, postLogout);
    assert.deepEqual(singleQuery(stop.url), { state: logoutState });
    assert.ok(!browser.hasCookie(AUTH_SESSION_COOKIE), 'the session cookie is expired');

    //    The request is completed (410) and its verifier is single-use (error page).
    const status = await admin.requestStatus('logout', logout.challenge);
    assert.equal(status.status, 410, JSON.stringify(status.body));
    stop = await browser.go(redirectTo);
    assert.equal(stop.kind, 'error', stop.url);

    // 6. The next /oauth2/auth in this browser asks for a fresh login.
    const login = await nextLogin(browser, config, client);
    assert.equal(login.skip, false);
    assert.equal(login.subject, '');
    assert.notEqual(login.session_id, auth.login.session_id);
  });

  test('public client (none): code flow with PKCE, refresh, logout to the default page', async () => {
    const client = await clients.create(clientMetadata(base, 'none'));
    const config = await discover(client);
    const browser = new Browser();
    const subject = unique('rp-user');

    const auth = await authorize(browser, config, client, subject, { tier: 'public' });
    const tokens = await exchange(config, auth);
    const claims = tokens.claims();
    assert.equal(claims.sub, subject);
    assert.equal(claims.tier, 'public');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, subject);
    assert.equal(info.tier, 'public');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.equal(refreshed.claims().sub, subject);

    // Without post_logout_redirect_uri the logout ends at urls.post_logout_redirect (the
    // built-in "logged out" page here).
    const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token });
    let stop = await browser.go(endSession.href);
    assert.equal(stop.kind, 'logout', stop.url);
    const logout = await admin.getLogout(stop.challenge);
    assert.equal(logout.rp_initiated, true);
    assert.equal(logout.subject, subject);
    stop = await browser.go(await acceptLogout(stop.challenge));
    assert.equal(stop.kind, 'logged-out', stop.url);
    assert.ok(!browser.hasCookie(AUTH_SESSION_COOKIE));
    assert.equal((await nextLogin(browser, config, client)).skip, false);
  });

  test('an unregistered post_logout_redirect_uri is refused and logs nobody out', async () => {
    const client = await clients.create(clientMetadata(base, 'client_secret_post'));
    const config = await discover(client);
    const browser = new Browser();
    const subject = unique('rp-user');
    const tokens = await exchange(config, await authorize(browser, config, client, subject));

    for (const uri of [`${base}/elsewhere`, `${client.post_logout_redirect_uris[0]}/x`]) {
      const endSession = oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: uri,
        state: oidc.randomState(),
      });
      const stop = await browser.go(endSession.href);
      assert.equal(stop.kind, 'error', stop.url);
      assert.equal(stop.params.error, 'invalid_request', stop.url);
    }

    // Still logged in: the next authorization skips the login.
    const login = await nextLogin(browser, config, client);
    assert.equal(login.skip, true);
    assert.equal(login.subject, subject);
  });
});
