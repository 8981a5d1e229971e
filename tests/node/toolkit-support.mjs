// Support for toolkit.test.mjs: an echoing fake upstream, a catalog with `acme` actions, and a recording proxy
// that shows exactly what the SDKs send to Keyway.

import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";

import { writeAcmeCatalog } from "./support.mjs";

/** API keys the fake upstream accepts (`GET /me` with `X-Api-Key`). */
export const GOOD_KEYS = ["acme_good", "acme_other", "acme_bulk"];

/** Filler actions, so that action lists span more than one 100-row page. */
export const FILLER_ACTIONS = 150;

export const ACME_ACTIONS = {
  platform: "acme",
  actions: [
    {
      title: "List issues",
      method: "GET",
      path: "/echo/repos/{{owner}}/{{repo}}/issues",
      tags: ["issues"],
      description: "Lists the issues of a repository.",
      parameters: [
        { name: "owner", in: "path", required: true },
        { name: "repo", in: "path", required: true },
        { name: "state", in: "query", required: false },
      ],
    },
    {
      title: "Create an issue",
      method: "POST",
      path: "/echo/repos/{{owner}}/{{repo}}/issues",
      tags: ["issues"],
      parameters: [
        { name: "owner", in: "path", required: true },
        { name: "repo", in: "path", required: true },
      ],
    },
    { title: "Run a custom report", method: "POST", path: "/echo/custom/report", tags: ["custom"] },
    ...Array.from({ length: FILLER_ACTIONS }, (_, i) => ({
      title: `Fetch gadget ${i}`,
      method: "GET",
      path: `/echo/gadgets/g${i}`,
      tags: ["gadgets"],
    })),
  ],
};

/**
 * Fake upstream for `acme`:
 * - `GET /me` → 200 when `X-Api-Key` is one of GOOD_KEYS, else 401 (Keyway's credential test);
 * - any method on `/echo/…` → a JSON echo `{method, path, query, headers, body, json}` of what arrived, status 201
 *   for POST and 200 otherwise, or the status given in an `x-echo-status` request header.
 * Every request is recorded in `calls` (same shape as the echo).
 */
export async function startEchoUpstream() {
  const calls = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url, "http://upstream.invalid");
      const query = {};
      for (const [k, v] of url.searchParams) {
        query[k] = k in query ? [].concat(query[k], v) : v;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      let json;
      try {
        json = body.length ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const echo = { method: req.method, path: url.pathname, rawUrl: req.url, query, headers: { ...req.headers }, body, json };
      calls.push(echo);
      res.setHeader("content-type", "application/json");
      if (url.pathname === "/me") {
        const ok = req.method === "GET" && GOOD_KEYS.includes(req.headers["x-api-key"]);
        res.writeHead(ok ? 200 : 401).end(JSON.stringify(ok ? { id: "me" } : { error: "unauthorized" }));
        return;
      }
      if (url.pathname.startsWith("/echo/")) {
        const status = Number(req.headers["x-echo-status"]) || (req.method === "POST" ? 201 : 200);
        res.setHeader("x-echo", "1");
        res.writeHead(status).end(JSON.stringify(echo));
        return;
      }
      res.writeHead(404).end(JSON.stringify({ error: "not found" }));
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

/** The `acme` catalog of support.mjs plus `actions/acme.json` (ACME_ACTIONS). */
export function writeToolkitCatalog(upstreamPort) {
  const dir = writeAcmeCatalog(upstreamPort);
  mkdirSync(join(dir, "actions"));
  writeFileSync(join(dir, "actions", "acme.json"), JSON.stringify(ACME_ACTIONS, null, 2) + "\n");
  return dir;
}

/**
 * A transparent HTTP proxy in front of Keyway: the SDKs get its URL as `serverUrl`, so every request they send
 * is recorded as `{method, url, path, query (URLSearchParams), headers}` before it is streamed to Keyway unchanged
 * (only `Host` is rewritten). Responses are streamed back unchanged.
 */
export async function startRecordingProxy(targetBaseUrl) {
  const target = new URL(targetBaseUrl);
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://proxy.invalid");
    requests.push({
      method: req.method,
      url: req.url,
      path: url.pathname,
      query: url.searchParams,
      headers: { ...req.headers },
    });
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (r) => {
        res.writeHead(r.statusCode, r.rawHeaders);
        r.pipe(res);
      },
    );
    upstream.on("error", (e) => {
      res.writeHead(502, { "content-type": "text/plain" }).end(`proxy: ${e.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Requests recorded since `mark` (an index from `requests.length`). */
    since: (mark) => requests.slice(mark),
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

/** Run `fn` with console.log/console.error captured (both SDKs log a lot); returns { result, logs, errors }. */
export async function quietly(fn) {
  const logs = [];
  const errors = [];
  const { log, error } = console;
  console.log = (...args) => logs.push(args);
  console.error = (...args) => errors.push(args);
  try {
    return { result: await fn(), logs, errors };
  } catch (e) {
    // Show what the SDK logged before it threw (axios errors carry the request and the reply).
    for (const args of errors) error("[sdk console.error]", ...args.map((a) => (a instanceof Error ? a.message : a)));
    throw e;
  } finally {
    console.log = log;
    console.error = error;
  }
}
