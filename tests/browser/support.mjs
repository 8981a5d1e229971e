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

import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { AuthKitToken } from "@picahq/authkit-token";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

import { backend, call, freePort, keywayBin, startKeyway } from "../node/support.mjs";

const here = dirname(fileURLToPath(import.meta.url));

export { backend, call, freePort, keywayBin, startKeyway };

export const screenshotDir = join(here, "screenshots");

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

/* ---- Keyway: started exactly as the Node SDK tests start it ---- */

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
