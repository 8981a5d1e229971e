// Test support: start a real Keyway binary on a fresh database, a fake upstream API, and a custom catalog.
//
// Environment:
//   KEYWAY_BIN                path of the keyway binary (default ../../target/debug/keyway from this directory;
//                             a relative path is resolved against the directory npm was started from)
//   KEYWAY_TEST_DATABASE      sqlite (default) | postgres
//   KEYWAY_TEST_POSTGRES_URL  default postgres://postgres@127.0.0.1:5432/keyway_test (a schema per Keyway instance)
//   KEYWAY_TEST_LOG=1         echo Keyway's stdout/stderr while the tests run

import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export const backend = (process.env.KEYWAY_TEST_DATABASE || "sqlite").toLowerCase();
if (backend !== "sqlite" && backend !== "postgres") {
  throw new Error(`KEYWAY_TEST_DATABASE must be "sqlite" or "postgres", not ${JSON.stringify(backend)}`);
}

export function keywayBin() {
  const configured = process.env.KEYWAY_BIN;
  if (!configured) return resolve(here, "../../target/debug/keyway");
  if (isAbsolute(configured)) return configured;
  // `npm test --prefix tests/node` runs with cwd = tests/node; INIT_CWD is where npm was invoked.
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

/**
 * Fake upstream for the `acme` platform: `GET /me` answers 200 `{"id":"me"}` when `X-Api-Key: acme_good`, else 401.
 * Every request is recorded in `calls`.
 */
export async function startFakeAcme() {
  const calls = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls.push({ method: req.method, url: req.url, headers: { ...req.headers } });
      res.setHeader("content-type", "application/json");
      if (req.method === "GET" && req.url === "/me" && req.headers["x-api-key"] === "acme_good") {
        res.writeHead(200).end(JSON.stringify({ id: "me" }));
      } else {
        res.writeHead(401).end(JSON.stringify({ error: "unauthorized" }));
      }
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

/** A catalog directory holding only the `acme` platform, whose base URL is the fake upstream. */
export function writeAcmeCatalog(upstreamPort) {
  const dir = mkdtempSync(join(tmpdir(), "keyway-catalog-"));
  mkdirSync(join(dir, "platforms"));
  mkdirSync(join(dir, "logos"));
  writeFileSync(
    join(dir, "platforms", "acme.toml"),
    `slug = "acme"
name = "Acme CRM"
category = "CRM"
description = "Local fake API used by the tests."
logo = "acme.svg"
docs_url = "https://example.com/docs"
base_url = "http://127.0.0.1:${upstreamPort}"
internal = true

[auth]
kind = "api_key"

[[fields]]
name = "apiKey"
label = "API key"
placeholder = "acme_…"
secret = true
pattern = "^acme_[a-z0-9]+$"

[inject]
headers = { "X-Api-Key" = "{{apiKey}}" }

[test_request]
method = "GET"
path = "/me"
expect_status = [200]
`,
  );
  writeFileSync(
    join(dir, "logos", "acme.svg"),
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" fill="#c33"/></svg>\n',
  );
  return dir;
}

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
    const schema = `t_node_${randomBytes(6).toString("hex")}`;
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

  // While no dashboard account exists, `keyway serve` prints a one-time setup link.
  const setupUrl = stdout.match(/http\S+\/dashboard\/setup\?token=kwl_[A-Za-z0-9]+/)?.[0] ?? null;

  return {
    baseUrl,
    testKey,
    liveKey,
    setupUrl,
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
