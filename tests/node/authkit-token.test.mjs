// The published, unmodified `@picahq/authkit-token` 1.0.4 against a real Keyway (spec: pica-compat.md §6.1),
// followed by the connect flow its session token unlocks and the vault routes that show the result (§9).
// Tests run in order and share state: each one builds on the previous.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";

import { AuthKitToken } from "@picahq/authkit-token";

import { backend, call, startFakeAcme, startKeyway, writeAcmeCatalog } from "./support.mjs";

const KEY_RE = (identity) => new RegExp(`^test::acme::default::[0-9a-f]{32}\\|${identity}$`);
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

let upstream;
let keyway;
let catalogDir;
const state = {};

before(async () => {
  upstream = await startFakeAcme();
  catalogDir = writeAcmeCatalog(upstream.port);
  keyway = await startKeyway({ catalogDir });
});

after(async () => {
  if (keyway?.running) await keyway.stop();
  await upstream?.close();
  if (catalogDir) rmSync(catalogDir, { recursive: true, force: true });
});

/** Run `fn` with console.warn captured (the SDK warns when /v1/users/flags fails). */
async function captureWarnings(fn) {
  const warnings = [];
  const original = console.warn;
  console.warn = (...args) => warnings.push(args);
  try {
    return { result: await fn(), warnings };
  } finally {
    console.warn = original;
  }
}

function sdk(secret) {
  return new AuthKitToken(secret, { baseUrl: keyway.baseUrl });
}

/** A Keyway error body: {"type":"error","code","status","message","requestId"}. */
function assertErrorBody(body, status, code, what) {
  const dump = JSON.stringify(body);
  assert.equal(typeof body, "object", `${what}: error body is not JSON: ${dump}`);
  assert.ok(body !== null, `${what}: empty error body`);
  assert.equal(body.type, "error", `${what}: type; body ${dump}`);
  assert.equal(body.status, status, `${what}: body.status; body ${dump}`);
  if (code) assert.equal(body.code, code, `${what}: code; body ${dump}`);
  assert.match(body.code ?? "", /^[a-z][a-z0-9_]*$/, `${what}: code is not snake_case; body ${dump}`);
  assert.equal(typeof body.message, "string", `${what}: message; body ${dump}`);
  assert.ok(body.message.length > 0, `${what}: empty message`);
  assert.match(String(body.requestId), /^req_/, `${what}: requestId; body ${dump}`);
}

function assertError(res, status, code, what) {
  assert.equal(res.status, status, `${what}: HTTP status; body ${res.text}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, `${what}: content-type`);
  assertErrorBody(res.body, status, code, what);
}

function assertOk(res, status, what) {
  assert.equal(res.status, status, `${what}: HTTP status; body ${res.text}`);
}

async function vaultList(secret, query = "") {
  const res = await call(keyway.baseUrl, "GET", `/v1/vault/connections${query}`, { secret });
  assertOk(res, 200, `GET /v1/vault/connections${query}`);
  assert.ok(Array.isArray(res.body.rows), `rows is an array: ${res.text}`);
  assert.equal(res.body.total, res.body.rows.length, `total is exact for ${query}: ${res.text}`);
  return res.body;
}

function connect(token, body) {
  return call(keyway.baseUrl, "POST", "/v1/authkit/connections", { bearer: token, body });
}

test(`[${backend}] AuthKitToken.create() returns the enabled integrations and a session token`, async () => {
  const flags = await call(keyway.baseUrl, "GET", "/v1/users/flags", { secret: keyway.testKey });
  assertOk(flags, 200, "GET /v1/users/flags");
  assert.deepEqual(flags.body, {
    accessList: [],
    authkitWhitelist: false,
    earlyAccess: [],
    completedQuickstart: true,
  });

  // Nothing enabled yet: no rows, but still a usable reply.
  const empty = await sdk(keyway.testKey).create({ identity: "user_123", identityType: "user" });
  assert.ok(empty && empty.type !== "error", `create() before enabling: ${JSON.stringify(empty)}`);
  assert.deepEqual(empty.rows, [], "no integration is enabled yet");
  assert.equal(empty.total, 0);

  // The CLI works on the database directly while the server runs.
  keyway.cli(["integrations", "enable", "acme", "--env", "test"]);

  const { result: token, warnings } = await captureWarnings(() =>
    sdk(keyway.testKey).create({ identity: "user_123", identityType: "user" }),
  );
  assert.deepEqual(warnings, [], "GET /v1/users/flags must succeed (the SDK warns otherwise)");
  assert.ok(token, "create() resolved to undefined: a network or non-HTTP failure");
  assert.notEqual(token.type, "error", `create() returned an error body: ${JSON.stringify(token)}`);

  // The reply arrives whole (one page), so Keyway's extra fields survive the SDK.
  assert.equal(token.isWhiteLabel, false);
  assert.equal(token.page, 1);
  assert.equal(token.pages, 1);
  assert.equal(token.total, 1);
  assert.ok(token.requestId !== undefined && token.requestId !== null, "requestId present");
  assert.equal(typeof token.sessionToken, "string", `sessionToken survives: ${JSON.stringify(token)}`);
  assert.match(token.sessionToken, /^akt_/);
  assert.equal(typeof token.expiresAt, "string");
  assert.match(token.expiresAt, ISO_RE);
  assert.ok(Date.parse(token.expiresAt) > Date.now(), "expiresAt is in the future");

  assert.equal(token.rows.length, 1);
  const row = token.rows[0];
  assert.equal(row.type, "acme");
  assert.equal(row.title, "Acme CRM");
  assert.equal(row.environment, "test");
  assert.equal(row.active, true);
  assert.deepEqual(row.tags, []);
  assert.equal(typeof row.id, "number");
  assert.equal(typeof row.connectionDefId, "number");
  assert.equal(typeof row.image, "string");
  const logo = await fetch(new URL(row.image, keyway.baseUrl));
  assert.equal(logo.status, 200, `logo ${row.image}`);
  assert.match(logo.headers.get("content-type") ?? "", /^image\/svg\+xml/, "the catalog's SVG logo is served");
  assert.match(await logo.text(), /<svg/);
  assert.match(row.activatedAt, ISO_RE);
  assert.match(row.createdAt, ISO_RE);
  assert.ok(row.scopes === null || row.scopes === undefined, `scopes: ${row.scopes}`);

  state.token123 = token.sessionToken;
});

test(`[${backend}] the session token drives the connect flow: form check, credential test, LINK_SUCCESS record`, async () => {
  assert.ok(state.token123, "needs the session token from the previous test");
  const token = state.token123;

  const integrations = await call(keyway.baseUrl, "GET", "/v1/authkit/integrations", { bearer: token });
  assertOk(integrations, 200, "GET /v1/authkit/integrations");
  assert.equal(integrations.body.total, 1);
  assert.equal(integrations.body.rows.length, 1);
  const acme = integrations.body.rows[0];
  assert.equal(acme.platform, "acme");
  assert.equal(acme.name, "Acme CRM");
  assert.equal(acme.category, "CRM");
  assert.equal(acme.description, "Local fake API used by the tests.");
  assert.equal(typeof acme.image, "string");
  assert.equal(acme.authKind, "api_key");
  assert.equal(acme.oauth, false);
  assert.equal(acme.fields.length, 1);
  assert.deepEqual(
    {
      name: acme.fields[0].name,
      label: acme.fields[0].label,
      placeholder: acme.fields[0].placeholder,
      secret: acme.fields[0].secret,
      required: acme.fields[0].required,
      pattern: acme.fields[0].pattern,
    },
    {
      name: "apiKey",
      label: "API key",
      placeholder: "acme_…",
      secret: true,
      required: true,
      pattern: "^acme_[a-z0-9]+$",
    },
  );

  // A value that fails the field pattern is refused before anything reaches the upstream.
  let callsBefore = upstream.calls.length;
  const malformed = await connect(token, { platform: "acme", formData: { apiKey: "not an acme key" } });
  assertError(malformed, 422, "invalid_form", "malformed apiKey");
  assert.ok(!malformed.text.includes("not an acme key"), "the submitted secret is not echoed back");
  const missing = await connect(token, { platform: "acme", formData: {} });
  assertError(missing, 422, "invalid_form", "missing required apiKey");
  assert.equal(upstream.calls.length, callsBefore, "the fake upstream was not called for invalid forms");

  // Well-formed but wrong: the platform's test request (GET /me) answers 401.
  callsBefore = upstream.calls.length;
  const rejected = await connect(token, { platform: "acme", formData: { apiKey: "acme_bad" } });
  assertError(rejected, 422, "credentials_rejected", "apiKey refused upstream");
  assert.ok(!rejected.text.includes("acme_bad"), "the submitted secret is not echoed back");
  assert.equal(upstream.calls.length, callsBefore + 1, "exactly one test request upstream");
  const probe = upstream.calls.at(-1);
  assert.equal(probe.method, "GET");
  assert.equal(probe.url, "/me");
  assert.equal(probe.headers["x-api-key"], "acme_bad", "credentials injected as the X-Api-Key header");
  for (const h of Object.keys(probe.headers)) {
    assert.ok(!/^x-(pica|keyway)-/.test(h), `Keyway header ${h} leaked upstream`);
    assert.notEqual(h, "authorization", "the session token leaked upstream");
  }

  // Good credentials: 201 with the LINK_SUCCESS record.
  callsBefore = upstream.calls.length;
  const created = await connect(token, { platform: "acme", formData: { apiKey: "acme_good" } });
  assertOk(created, 201, "POST /v1/authkit/connections (acme_good)");
  assert.equal(upstream.calls.length, callsBefore + 1, "one successful test request upstream");
  assert.equal(upstream.calls.at(-1).headers["x-api-key"], "acme_good");
  assert.ok(!created.text.includes("acme_good"), "the stored secret is never returned");
  const rec = created.body;
  assert.match(rec.key, KEY_RE("user_123"));
  assert.equal(rec.platform, "acme");
  assert.equal(rec.environment, "test");
  assert.equal(rec.identity, "user_123");
  assert.equal(rec.identityType, "user");
  assert.equal(rec.state, "operational");
  assert.equal(rec.active, true);
  assert.deepEqual(rec.tags, []);
  assert.ok(rec.id !== undefined && rec.id !== null, "id");
  assert.equal(rec._id, rec.id, "_id mirrors id");
  assert.equal(typeof rec.createdAt, "number", "LINK_SUCCESS createdAt is epoch ms");
  assert.equal(typeof rec.updatedAt, "number", "LINK_SUCCESS updatedAt is epoch ms");
  assert.ok(Math.abs(rec.createdAt - Date.now()) < 10 * 60_000, `createdAt ${rec.createdAt} is about now (ms)`);

  state.conn123 = rec;
});

test(`[${backend}] the vault lists, filters, tags and deletes connections per identity`, async () => {
  assert.ok(state.conn123, "needs the connection from the previous test");
  const conn = state.conn123;

  const mine = await vaultList(keyway.testKey, "?identity=user_123");
  assert.equal(mine.total, 1);
  assert.equal(mine.page, 1);
  assert.equal(mine.pages, 1);
  assert.equal(mine.skip, 0);
  assert.equal(mine.limit, 20, "default limit is 20");
  const row = mine.rows[0];
  assert.equal(row.id, conn.id);
  assert.equal(row._id, conn.id);
  assert.equal(row.key, conn.key, "the key is byte-identical everywhere");
  assert.equal(row.platform, "acme");
  assert.equal(row.identity, "user_123");
  assert.equal(row.identityType, "user");
  assert.equal(row.state, "operational");
  assert.equal(row.active, true);
  assert.deepEqual(row.tags, []);
  assert.equal(typeof row.createdAt, "string", "vault createdAt is an ISO string");
  assert.match(row.createdAt, ISO_RE);
  assert.ok(Math.abs(Date.parse(row.createdAt) - conn.createdAt) < 1000, "same instant as the LINK_SUCCESS record");
  assert.ok(!JSON.stringify(mine).includes("acme_good"), "no secret in the vault list");

  // A second end user.
  const { result: t456 } = await captureWarnings(() =>
    sdk(keyway.testKey).create({ identity: "user_456", identityType: "user" }),
  );
  assert.equal(typeof t456?.sessionToken, "string", `token for user_456: ${JSON.stringify(t456)}`);
  assert.notEqual(t456.sessionToken, state.token123, "each create() mints a new session token");
  const other = await connect(t456.sessionToken, {
    platform: "acme",
    formData: { apiKey: "acme_good" },
    name: "Second account",
  });
  assertOk(other, 201, "connection for user_456");
  assert.match(other.body.key, KEY_RE("user_456"));
  assert.notEqual(other.body.id, conn.id);
  state.conn456 = other.body;

  const mineAgain = await vaultList(keyway.testKey, "?identity=user_123");
  assert.deepEqual(
    mineAgain.rows.map((r) => r.key),
    [conn.key],
    "user_123 never sees user_456's connection",
  );
  const theirs = await vaultList(keyway.testKey, "?identity=user_456");
  assert.deepEqual(theirs.rows.map((r) => r.key), [other.body.key]);
  assert.equal(theirs.rows[0].name, "Second account");
  const all = await vaultList(keyway.testKey);
  assert.equal(all.total, 2);
  assert.deepEqual(all.rows.map((r) => r.key), [conn.key, other.body.key], "stable order: creation time");
  const byKey = await vaultList(keyway.testKey, `?key=${encodeURIComponent(conn.key)}`);
  assert.deepEqual(byKey.rows.map((r) => r.id), [conn.id], "filter by key");
  const byKeys = await vaultList(keyway.testKey, `?keys=${encodeURIComponent(other.body.key)}`);
  assert.deepEqual(byKeys.rows.map((r) => r.id), [other.body.id], "filter by keys");

  // Tags.
  const patched = await call(keyway.baseUrl, "PATCH", `/v1/vault/connections/${encodeURIComponent(conn.id)}`, {
    secret: keyway.testKey,
    body: { tags: ["a", "b"] },
  });
  assertOk(patched, 200, "PATCH tags");
  assert.deepEqual(patched.body.tags, ["a", "b"]);
  assert.equal(patched.body.id, conn.id);
  assert.equal(patched.body.key, conn.key, "PATCH returns the full connection");
  assert.equal(patched.body.platform, "acme");

  const tagged = await vaultList(keyway.testKey, "?tags=a");
  assert.deepEqual(tagged.rows.map((r) => r.id), [conn.id], "tags=a finds only the tagged connection");
  assert.deepEqual(tagged.rows[0].tags, ["a", "b"]);
  const taggedB = await vaultList(keyway.testKey, "?identity=user_123&tags=b");
  assert.deepEqual(taggedB.rows.map((r) => r.id), [conn.id]);
  const none = await vaultList(keyway.testKey, "?tags=zzz");
  assert.equal(none.total, 0);
  assert.deepEqual(none.rows, []);

  // Delete.
  const del = await call(keyway.baseUrl, "DELETE", `/v1/vault/connections/${encodeURIComponent(conn.id)}`, {
    secret: keyway.testKey,
  });
  assertOk(del, 200, "DELETE");
  const gone = await vaultList(keyway.testKey, "?identity=user_123");
  assert.equal(gone.total, 0);
  assert.deepEqual(gone.rows, []);
  const getGone = await call(keyway.baseUrl, "GET", `/v1/vault/connections/${encodeURIComponent(conn.id)}`, {
    secret: keyway.testKey,
  });
  assertError(getGone, 404, "not_found", "GET a deleted connection");
  const left = await vaultList(keyway.testKey);
  assert.deepEqual(left.rows.map((r) => r.id), [other.body.id], "only user_456's connection is left");
});

test(`[${backend}] environments are separate and bad tokens, identities and platforms are refused`, async () => {
  assert.ok(state.conn456, "needs user_456's connection from the previous test");
  const conn = state.conn456;
  const path = `/v1/vault/connections/${encodeURIComponent(conn.id)}`;
  const callsBefore = upstream.calls.length;

  // The live key never sees test connections.
  const live = await vaultList(keyway.liveKey);
  assert.equal(live.total, 0);
  assert.deepEqual(live.rows, []);
  const liveById = await vaultList(keyway.liveKey, "?identity=user_456");
  assert.equal(liveById.total, 0);
  const liveGet = await call(keyway.baseUrl, "GET", path, { secret: keyway.liveKey });
  assertError(liveGet, 404, "not_found", "live GET");
  const unknown = await call(keyway.baseUrl, "GET", `/v1/vault/connections/conn_${"0".repeat(32)}`, {
    secret: keyway.testKey,
  });
  assertError(unknown, 404, "not_found", "GET an unknown id");
  assert.equal(liveGet.body.message, unknown.body.message, "a test row looks exactly like no row to the live key");
  assertError(
    await call(keyway.baseUrl, "PATCH", path, { secret: keyway.liveKey, body: { tags: ["x"] } }),
    404,
    "not_found",
    "live PATCH",
  );
  assertError(await call(keyway.baseUrl, "DELETE", path, { secret: keyway.liveKey }), 404, "not_found", "live DELETE");
  const stillThere = await call(keyway.baseUrl, "GET", path, { secret: keyway.testKey });
  assertOk(stillThere, 200, "test GET after live attempts");
  assert.equal(stillThere.body.key, conn.key);
  assert.deepEqual(stillThere.body.tags, [], "the live PATCH changed nothing");

  // acme is enabled for test only: the live key gets no rows, and its token cannot connect acme.
  const { result: liveToken } = await captureWarnings(() =>
    sdk(keyway.liveKey).create({ identity: "user_123", identityType: "user" }),
  );
  assert.ok(liveToken && liveToken.type !== "error", `live create(): ${JSON.stringify(liveToken)}`);
  assert.deepEqual(liveToken.rows, []);
  assert.equal(liveToken.total, 0);
  assert.equal(typeof liveToken.sessionToken, "string");
  assertError(
    await connect(liveToken.sessionToken, { platform: "acme", formData: { apiKey: "acme_good" } }),
    403,
    "integration_disabled",
    "connect acme with a live token",
  );

  // Identities that would corrupt the connection key, or none at all.
  const { result: piped } = await captureWarnings(() =>
    sdk(keyway.testKey).create({ identity: "user|789", identityType: "user" }),
  );
  assertErrorBody(piped, 400, "invalid_identity", "create() with '|' in the identity");
  assert.equal(piped.sessionToken, undefined, "no session for a refused identity");
  const { result: anonymous } = await captureWarnings(() => sdk(keyway.testKey).create());
  assertErrorBody(anonymous, 400, "invalid_identity", "create() without an identity");
  const { result: alien } = await captureWarnings(() =>
    sdk(keyway.testKey).create({ identity: "user_789", identityType: "alien" }),
  );
  assertErrorBody(alien, 400, "invalid_identity", "create() with an unknown identityType");

  // Bad session tokens.
  const { result: fresh } = await captureWarnings(() =>
    sdk(keyway.testKey).create({ identity: "user_789", identityType: "user" }),
  );
  const good = fresh.sessionToken;
  assert.equal(typeof good, "string");
  const tampered = good.slice(0, -1) + (good.at(-1) === "A" ? "B" : "A");
  const form = { platform: "acme", formData: { apiKey: "acme_good" } };
  assertError(await connect("garbage", form), 401, "invalid_session", "garbage token");
  assertError(await connect(tampered, form), 401, "invalid_session", "tampered token");
  assertError(await connect("akt_" + "0".repeat(43), form), 401, "invalid_session", "well-shaped unknown token");
  assertError(await connect(keyway.testKey, form), 401, "invalid_session", "a secret key is not a session token");
  assertError(
    await call(keyway.baseUrl, "POST", "/v1/authkit/connections", { body: form }),
    401,
    "invalid_session",
    "no Authorization header",
  );
  assertError(
    await call(keyway.baseUrl, "GET", "/v1/authkit/integrations", { bearer: "garbage" }),
    401,
    "invalid_session",
    "integrations with a garbage token",
  );

  // Unknown platform, with a valid token.
  assertError(
    await connect(good, { platform: "nope", formData: { apiKey: "acme_good" } }),
    404,
    "unknown_platform",
    "unknown platform",
  );

  // None of that created anything or reached the upstream.
  assert.equal(upstream.calls.length, callsBefore, "refused requests never reach the upstream");
  const after = await vaultList(keyway.testKey);
  assert.deepEqual(after.rows.map((r) => r.id), [conn.id], "test connections unchanged");
  const liveAfter = await vaultList(keyway.liveKey);
  assert.equal(liveAfter.total, 0, "live connections unchanged");
});

test(`[${backend}] create() with a bad secret key resolves to the 401 error body`, async () => {
  const bogus = "sk_test_" + "x".repeat(40);
  const { result, warnings } = await captureWarnings(() => sdk(bogus).create({ identity: "user_123", identityType: "user" }));
  assert.ok(result, "create() resolved to undefined instead of the error body");
  assertErrorBody(result, 401, "unauthorized", "create() with an unknown secret");
  assert.equal(result.sessionToken, undefined);
  assert.equal(result.rows, undefined);
  assert.equal(warnings.length, 1, "the SDK warned once about /v1/users/flags (401)");

  const noSecret = await call(keyway.baseUrl, "POST", "/v1/authkit?limit=100&page=1", {
    body: { identity: "user_123", identityType: "user" },
  });
  assertError(noSecret, 401, "unauthorized", "POST /v1/authkit without a secret");
  assertError(await call(keyway.baseUrl, "GET", "/v1/users/flags"), 401, "unauthorized", "flags without a secret");
});

test(`[${backend}] keyway exits 0 on SIGTERM`, async () => {
  const { code, signal, timedOut } = await keyway.stop();
  assert.equal(timedOut, false, "keyway did not exit within 15 s of SIGTERM");
  assert.equal(signal, null, `killed by ${signal}`);
  assert.equal(code, 0, `exit code ${code}; logs:\n${keyway.logs()}`);
});
