// Test support: a real Keyway binary on a fresh database, a fake platform that is also a fake OAuth provider,
// a custom catalog describing it, a customer's web app (host page + token endpoint using @picahq/authkit-token,
// with the real @picahq/authkit bundled by esbuild), and Debian's chromium driven by playwright-core.
// Keyway's part is the same as tests/node/support.mjs.
//
// Environment:
//   KEYWAY_BIN                path of the keyway binary (default ../../target/debug/keyway from this directory;
//                             a relative path is resolved against the directory npm was started from)
//   KEYWAY_TEST_DATABASE      sqlite (default) | postgres
//   KEYWAY_TEST_POSTGRES_URL  default postgres://postgres@127.0.0.1:5432/keyway_test (a schema per Keyway instance)
//   KEYWAY_TEST_LOG=1         echo Keyway's stdout/stderr while the tests run
//   CHROMIUM_PATH             default /usr/bin/chromium (never downloaded)

import { spawn, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { AuthKitToken } from "@picahq/authkit-token";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));

export const backend = (process.env.KEYWAY_TEST_DATABASE || "sqlite").toLowerCase();
if (backend !== "sqlite" && backend !== "postgres") {
  throw new Error(`KEYWAY_TEST_DATABASE must be "sqlite" or "postgres", not ${JSON.stringify(backend)}`);
}

export const screenshotDir = join(here, "screenshots");

export function keywayBin() {
  const configured = process.env.KEYWAY_BIN;
  if (!configured) return resolve(here, "../../target/debug/keyway");
  if (isAbsolute(configured)) return configured;
  return resolve(process.env.INIT_CWD || process.cwd(), configured);
}

const SECRET_KEY_RE = /sk_(test|live)_[A-Za-z0-9]{40}/g;
const LOG_LIMIT = 64 * 1024;

/** A TCP port that was free a moment ago. */
export async function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function listen(server, host = "127.0.0.1") {
  return new Promise((ok) => server.listen(0, host, () => ok(server.address().port)));
}

function closer(server) {
  return () =>
    new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(() => ok());
    });
}

function readBody(req) {
  return new Promise((ok) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => ok(Buffer.concat(chunks).toString("utf8")));
  });
}

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

export const GOOD_KEY = "acme_good";
export const CLIENT_ID = "keyway-test-client";
export const CLIENT_SECRET = "keyway-test-secret";

/**
 * The fake platform: an API (`GET /me`: 200 with `X-Api-Key: acme_good` or a bearer token it issued, else 401)
 * and an OAuth provider (`GET /authorize` consent page with Approve/Deny, `POST /token` checking client, code,
 * redirect_uri and PKCE). Every request is recorded in `calls`.
 */
export async function startFakePlatform() {
  const calls = [];
  const codes = new Map();
  const tokens = new Set();
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url, "http://fake");
    calls.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body });
    const json = (status, value) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    };
    if (req.method === "GET" && url.pathname === "/me") {
      const bearer = (req.headers.authorization || "").replace(/^Bearer /, "");
      if (req.headers["x-api-key"] === GOOD_KEY || tokens.has(bearer)) return json(200, { id: "me" });
      return json(401, { error: "unauthorized" });
    }
    if (req.method === "GET" && url.pathname === "/authorize") {
      const q = url.searchParams;
      const decide = (approve) =>
        `/decide?${new URLSearchParams({ approve: approve ? "1" : "0", ...Object.fromEntries(q) })}`;
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html>
<html><head><title>Acme OAuth: sign in</title><meta name="viewport" content="width=device-width">
<style>body{font:15px system-ui;margin:40px auto;max-width:360px;color:#222}a{display:block;margin:12px 0;padding:12px;border-radius:8px;text-align:center;text-decoration:none}.ok{background:#2b6;color:#fff}.no{border:1px solid #ccc;color:#222}</style></head>
<body><h1>Acme OAuth</h1><p>Client <b>${escapeHtml(q.get("client_id"))}</b> asks for <b>${escapeHtml(q.get("scope"))}</b>.</p>
<a class="ok" href="${escapeHtml(decide(true))}">Approve</a><a class="no" href="${escapeHtml(decide(false))}">Deny</a></body></html>`);
      return;
    }
    if (req.method === "GET" && url.pathname === "/decide") {
      const q = url.searchParams;
      const back = new URL(q.get("redirect_uri"));
      if (q.get("state")) back.searchParams.set("state", q.get("state"));
      if (q.get("approve") === "1") {
        const code = `code_${randomBytes(8).toString("hex")}`;
        codes.set(code, {
          clientId: q.get("client_id"),
          redirectUri: q.get("redirect_uri"),
          challenge: q.get("code_challenge"),
        });
        back.searchParams.set("code", code);
      } else {
        back.searchParams.set("error", "access_denied");
        back.searchParams.set("error_description", "The user denied access");
      }
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (req.method === "POST" && url.pathname === "/token") {
      const p = (req.headers["content-type"] || "").includes("json")
        ? JSON.parse(body || "{}")
        : Object.fromEntries(new URLSearchParams(body));
      const grant = codes.get(p.code);
      codes.delete(p.code);
      const verifierOk =
        !grant?.challenge ||
        createHash("sha256").update(p.code_verifier || "").digest("base64url") === grant.challenge;
      if (
        p.grant_type !== "authorization_code" ||
        !grant ||
        p.client_id !== CLIENT_ID ||
        p.client_secret !== CLIENT_SECRET ||
        p.redirect_uri !== grant.redirectUri ||
        !verifierOk
      ) {
        return json(400, { error: "invalid_grant" });
      }
      const access = `tok_${randomBytes(8).toString("hex")}`;
      tokens.add(access);
      return json(200, {
        access_token: access,
        refresh_token: `ref_${randomBytes(8).toString("hex")}`,
        expires_in: 3600,
        token_type: "Bearer",
      });
    }
    json(404, { error: "not found" });
  });
  const port = await listen(server);
  return { port, url: `http://127.0.0.1:${port}`, calls, close: closer(server) };
}

const LOGO = (color, letter) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="${color}"/>` +
  `<text x="32" y="43" font-family="Arial, sans-serif" font-size="30" font-weight="700" fill="#fff" text-anchor="middle">${letter}</text></svg>\n`;

/** A catalog directory: `acme` (API key), `acme-oauth` (OAuth2 with PKCE), both on the fake platform. */
export function writeCatalog(port) {
  const dir = mkdtempSync(join(tmpdir(), "keyway-catalog-"));
  mkdirSync(join(dir, "platforms"));
  mkdirSync(join(dir, "logos"));
  const common = (slug, name, logo) => `slug = "${slug}"
name = "${name}"
category = "CRM"
description = "Customers, deals and pipelines in ${name}."
logo = "${logo}"
docs_url = "https://example.com/docs"
base_url = "http://127.0.0.1:${port}"
internal = true
`;
  writeFileSync(
    join(dir, "platforms", "acme.toml"),
    `${common("acme", "Acme CRM", "acme.svg")}
[auth]
kind = "api_key"

[[fields]]
name = "apiKey"
label = "API key"
placeholder = "acme_…"
secret = true
pattern = "^acme_[a-z0-9]+$"
help = "Find it in Acme under Settings → API."

[inject]
headers = { "X-Api-Key" = "{{apiKey}}" }

[test_request]
method = "GET"
path = "/me"
expect_status = [200]
`,
  );
  writeFileSync(
    join(dir, "platforms", "acme-oauth.toml"),
    `${common("acme-oauth", "Acme Cloud", "acme-oauth.svg")}
[auth]
kind = "oauth2_authorization_code"

[auth.oauth2]
authorize_url = "http://127.0.0.1:${port}/authorize"
token_url = "http://127.0.0.1:${port}/token"
default_scopes = ["read"]
pkce = true

[test_request]
method = "GET"
path = "/me"
expect_status = [200]
`,
  );
  writeFileSync(join(dir, "logos", "acme.svg"), LOGO("#d6453d", "A"));
  writeFileSync(join(dir, "logos", "acme-oauth.svg"), LOGO("#2f6fde", "AC"));
  return dir;
}

/* ---- Keyway (as in tests/node/support.mjs) ---- */

function postgresUrlWithSchema(url, schema) {
  const options = `options=-c%20search_path%3D${schema}`;
  return url.includes("?") ? `${url}&${options}` : `${url}?${options}`;
}

/** Inherited KEYWAY_* variables (a developer's master key, config file…) must not leak into the instance. */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("KEYWAY_")) env[k] = v;
  }
  return env;
}

/**
 * Start `keyway serve` on a fresh database (SQLite temp dir or a fresh PostgreSQL schema).
 * Returns { baseUrl, testKey, liveKey, cli(args), stop(), logs() }.
 */
export async function startKeyway({ catalogDir }) {
  const bin = keywayBin();
  if (!existsSync(bin)) {
    throw new Error(`keyway binary not found at ${bin}: build it (cargo build) or set KEYWAY_BIN`);
  }
  const workDir = mkdtempSync(join(tmpdir(), "keyway-node-"));
  const env = { ...cleanEnv(), KEYWAY_CATALOG_DIR: catalogDir };
  let dropSchema = () => {};

  if (backend === "sqlite") {
    env.KEYWAY_DATA_DIR = join(workDir, "data");
  } else {
    const pgUrl = process.env.KEYWAY_TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/keyway_test";
    const schema = `t_browser_${randomBytes(6).toString("hex")}`;
    execFileSync("psql", [pgUrl, "-q", "-v", "ON_ERROR_STOP=1", "-c", `CREATE SCHEMA ${schema}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    dropSchema = () => {
      try {
        execFileSync("psql", [pgUrl, "-q", "-c", `DROP SCHEMA IF EXISTS ${schema} CASCADE`], { stdio: "ignore" });
      } catch {
        // best effort: scripts/test recreates the database anyway
      }
    };
    env.KEYWAY_DATABASE_URL = postgresUrlWithSchema(pgUrl, schema);
    env.KEYWAY_MASTER_KEY = execFileSync(bin, ["master-key", "generate"], {
      cwd: workDir,
      env: cleanEnv(),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    })
      .trim()
      .split("\n")
      .pop()
      .trim();
  }

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  env.KEYWAY_PUBLIC_URL = baseUrl;

  let log = "";
  const echo = process.env.KEYWAY_TEST_LOG === "1";
  const record = (chunk) => {
    const text = chunk.toString("utf8");
    log = (log + text).slice(-LOG_LIMIT);
    if (echo) process.stderr.write(text);
  };

  // cwd = a temp dir so that no ./keyway.toml from the repository is picked up.
  const child = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`], {
    cwd: workDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (c) => {
    stdout += c.toString("utf8");
    record(c);
  });
  child.stderr.on("data", record);
  const exited = new Promise((ok) => child.on("exit", (code, signal) => ok({ code, signal })));
  let exitInfo = null;
  exited.then((info) => (exitInfo = info));

  const cleanup = () => {
    rmSync(workDir, { recursive: true, force: true });
    dropSchema();
  };

  const deadline = Date.now() + 60_000;
  let healthy = false;
  while (Date.now() < deadline) {
    if (exitInfo) break;
    try {
      const r = await fetch(`${baseUrl}/healthz`);
      await r.arrayBuffer();
      if (r.status === 200) {
        healthy = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  if (!healthy) {
    child.kill("SIGKILL");
    await exited;
    cleanup();
    throw new Error(
      `keyway did not become healthy (${exitInfo ? `exited ${JSON.stringify(exitInfo)}` : "timeout"}):\n${log}`,
    );
  }

  // The keys are printed before the server listens; give stdout a moment anyway.
  let keys = [...stdout.matchAll(SECRET_KEY_RE)];
  for (let i = 0; i < 20 && keys.length < 2; i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    keys = [...stdout.matchAll(SECRET_KEY_RE)];
  }
  const testKey = keys.find((m) => m[1] === "test")?.[0];
  const liveKey = keys.find((m) => m[1] === "live")?.[0];
  if (!testKey || !liveKey) {
    child.kill("SIGKILL");
    await exited;
    cleanup();
    throw new Error(`keyway printed no sk_test_/sk_live_ keys on first start:\n${log}`);
  }

  return {
    baseUrl,
    testKey,
    liveKey,
    logs: () => log,
    /** Run a keyway CLI command against the same database and catalog. */
    cli(args) {
      return execFileSync(bin, args, { cwd: workDir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    },
    /** SIGTERM, wait (SIGKILL after `timeoutMs`), clean up; resolves to { code, signal, timedOut }. */
    async stop(timeoutMs = 15_000) {
      if (!exitInfo) child.kill("SIGTERM");
      let timer;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise((ok) => (timer = setTimeout(() => ok(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) child.kill("SIGKILL");
      const info = await exited;
      cleanup();
      return { ...info, timedOut };
    },
    get running() {
      return !exitInfo;
    },
  };
}

/** fetch + JSON: resolves to { status, headers, body } (body = parsed JSON, text, or null when empty). */
export async function call(baseUrl, method, path, { secret, bearer, body, headers = {} } = {}) {
  const h = { accept: "application/json", ...headers };
  if (secret) h["x-pica-secret"] = secret;
  if (bearer) h.authorization = `Bearer ${bearer}`;
  let payload;
  if (body !== undefined) {
    h["content-type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await fetch(baseUrl + path, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/**
 * The customer's web app on `localhost` (another site than Keyway's 127.0.0.1): a page using the real
 * @picahq/authkit (bundled now by esbuild from host/app.jsx), a plain page using Keyway's /authkit.js,
 * and a token endpoint that calls Keyway's POST /v1/authkit with @picahq/authkit-token, as the Pica docs
 * show (`res.json(await authKitToken.create({ identity, identityType }))`). The identity comes from the
 * `x-user-id` header the page passes in `token.headers`; `x-user-id: nobody` sends no identity.
 */
export async function startHostApp({ keywayUrl, secretKey }) {
  const built = await esbuild.build({
    entryPoints: [join(here, "host", "app.jsx")],
    bundle: true,
    write: false,
    format: "iife",
    jsx: "automatic",
    minify: false,
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  const bundle = built.outputFiles[0].text;
  const tokenCalls = [];
  const authKitToken = new AuthKitToken(secretKey, { baseUrl: keywayUrl });
  const cors = {
    "access-control-allow-origin": keywayUrl,
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": "content-type, x-user-id",
    vary: "origin",
  };
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url, "http://host");
    if (url.pathname === "/authkit-token") {
      if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
      tokenCalls.push({ method: req.method, headers: { ...req.headers }, body });
      const user = req.headers["x-user-id"];
      const token = await authKitToken.create(
        user && user !== "nobody" ? { identity: user, identityType: "user" } : {},
      );
      res.writeHead(200, { ...cors, "content-type": "application/json" }).end(JSON.stringify(token ?? null));
      return;
    }
    if (url.pathname === "/app.js") {
      return res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
    }
    if (url.pathname === "/") {
      return res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(hostPage(`<script src="/app.js"></script>`));
    }
    if (url.pathname === "/plain") {
      return res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
        hostPage(`<script src="${keywayUrl}/authkit.js"></script><script src="/plain.js"></script>`),
      );
    }
    if (url.pathname === "/plain.js") {
      return res.writeHead(200, { "content-type": "text/javascript" }).end(PLAIN_JS);
    }
    res.writeHead(404).end();
  });
  const port = await listen(server, "localhost");
  return { url: `http://localhost:${port}`, tokenCalls, close: closer(server) };
}

function hostPage(scripts) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Northwind: Settings</title>
<style>
body{margin:0;font:15px system-ui,sans-serif;background:#f3f4f6;color:#1f2937}
header{background:#0f172a;color:#fff;padding:14px 24px;font-weight:700}
main{max-width:720px;margin:32px auto;padding:0 16px}
.card{background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
button{font:inherit;padding:10px 16px;border-radius:8px;border:0;background:#0f172a;color:#fff;cursor:pointer}
</style></head>
<body><header>Northwind</header><main><div class="card"><h2>Integrations</h2>
<p>Connect the tools your team already uses.</p><div id="root"><button id="connect" type="button">Connect an app</button></div></div></main>
${scripts}</body></html>`;
}

/** The plain page: options from `?options=<json>`, events recorded in window.events. */
const PLAIN_JS = `
window.events = [];
var options = JSON.parse(new URLSearchParams(location.search).get("options") || "{}");
document.getElementById("connect").addEventListener("click", function () {
  KeywayAuthKit.open(Object.assign({}, options, {
    onSuccess: function (c) { window.events.push({ type: "success", payload: c }); },
    onError: function (m) { window.events.push({ type: "error", payload: m }); },
    onClose: function () { window.events.push({ type: "close" }); },
  }));
});
`;

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: install Debian's chromium (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Everything a test file needs, started together; `stop()` ends it all. */
export async function startWorld() {
  const platform = await startFakePlatform();
  const catalogDir = writeCatalog(platform.port);
  const keyway = await startKeyway({ catalogDir });
  const host = await startHostApp({ keywayUrl: keyway.baseUrl, secretKey: keyway.testKey });
  const browser = await launchBrowser();
  mkdirSync(screenshotDir, { recursive: true });
  return {
    platform,
    keyway,
    host,
    browser,
    async stop() {
      await browser.close().catch(() => {});
      await host.close();
      if (keyway.running) await keyway.stop();
      await platform.close();
      rmSync(catalogDir, { recursive: true, force: true });
    },
  };
}
