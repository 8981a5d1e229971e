// The published, unmodified agent SDKs `@picahq/toolkit` 1.0.3 and `@picahq/ai` 3.0.2 against a real Keyway
// (spec: pica-compat.md §1, §3, §4, §9–§12). Their AI SDK tools are called directly (`tool.execute(input, options)`),
// with no LLM: list connections for an identity, search actions, read knowledge, execute through passthrough.
//
// The SDKs talk to Keyway through a transparent recording proxy (toolkit-support.mjs) so the tests can assert what
// they sent; the fake upstream echoes what reached it. Tests run in order and share state.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";

import { Pica as AiPica } from "@picahq/ai";
import { Pica as ToolkitPica } from "@picahq/toolkit";

import { backend, call, startKeyway } from "./support.mjs";
import {
  ACME_ACTIONS,
  quietly,
  startEchoUpstream,
  startRecordingProxy,
  writeToolkitCatalog,
} from "./toolkit-support.mjs";

const KEY_RE = (identity) => new RegExp(`^test::acme::default::[0-9a-f]{32}\\|${identity}$`);
const ACTION_ID_RE = /^conn_mod_def::[A-Za-z0-9_-]{11}::[A-Za-z0-9_-]{22}$/;
const LIST_PATH = "/echo/repos/{{owner}}/{{repo}}/issues";
const ACTION_COUNT = ACME_ACTIONS.actions.length;
const BULK = 105; // > 100: the SDKs' page size
const TOOL_OPTIONS = { toolCallId: "call_1", messages: [] };

let upstream;
let keyway;
let proxy;
let catalogDir;
const state = {};

before(async () => {
  upstream = await startEchoUpstream();
  catalogDir = writeToolkitCatalog(upstream.port);
  keyway = await startKeyway({ catalogDir });
  proxy = await startRecordingProxy(keyway.baseUrl);
});

after(async () => {
  await proxy?.close();
  if (keyway?.running) await keyway.stop();
  await upstream?.close();
  if (catalogDir) rmSync(catalogDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// helpers

async function importConnection(identity, identityType, apiKey) {
  const res = await call(keyway.baseUrl, "POST", "/v1/vault/connections", {
    secret: keyway.testKey,
    body: { platform: "acme", identity, identityType, authFormData: { apiKey } },
  });
  assert.equal(res.status, 201, `POST /v1/vault/connections for ${identity}: ${res.text}`);
  assert.match(res.body.key, KEY_RE(identity));
  return res.body.key;
}

/** A toolkit client pointed at Keyway (through the proxy); its constructor only logs. */
function toolkit(options = {}, secret = keyway.testKey) {
  const original = console.log;
  console.log = () => {};
  try {
    return new ToolkitPica(secret, { serverUrl: proxy.url, ...options });
  } finally {
    console.log = original;
  }
}

/** An @picahq/ai client, initialised (its constructor loads connections and connectors). */
async function aiClient(options = {}, secret = keyway.testKey) {
  const mark = proxy.requests.length;
  const { result: pica, errors } = await quietly(async () => {
    const p = new AiPica(secret, { serverUrl: proxy.url, ...options });
    await p.waitForInitialization();
    return p;
  });
  assert.deepEqual(
    errors.map((e) => e.map(String).join(" ")),
    [],
    "the @picahq/ai constructor logged errors (it swallows failed loads and carries on with nothing)",
  );
  return { pica, requests: proxy.since(mark) };
}

/** Run a tool's execute() as the AI SDK would, with input validated against the tool's own inputSchema. */
async function runTool(tool, input) {
  assert.equal(typeof tool?.execute, "function", "tool has an execute function");
  const parsed = tool.inputSchema.parse(input);
  const mark = proxy.requests.length;
  const callsBefore = upstream.calls.length;
  const { result, errors } = await quietly(() => tool.execute(parsed, TOOL_OPTIONS));
  return {
    result,
    errors,
    requests: proxy.since(mark),
    upstreamCalls: upstream.calls.slice(callsBefore),
  };
}

function queryOf(req) {
  return Object.fromEntries(req.query);
}

function assertNoKeywayHeaders(headers, what) {
  for (const h of Object.keys(headers)) {
    assert.ok(!/^x-(pica|keyway)-/i.test(h), `${what}: header ${h} leaked upstream`);
  }
}

function assertPassthroughRequest(req, { method, path, key, actionId }) {
  assert.equal(req.method, method, "passthrough method");
  assert.equal(req.path, `/v1/passthrough${path}`, "passthrough path");
  assert.equal(req.headers["x-pica-secret"], keyway.testKey);
  assert.equal(req.headers["x-pica-connection-key"], key);
  assert.equal(req.headers["x-pica-action-id"], actionId);
}

/** The one upstream call a passthrough made: the connection's credential injected, no Keyway header. */
function assertUpstreamCall(calls, { method, path, apiKey }) {
  const echo = calls.filter((c) => c.path.startsWith("/echo/"));
  assert.equal(echo.length, 1, `exactly one upstream call: ${JSON.stringify(calls.map((c) => c.rawUrl))}`);
  const c = echo[0];
  assert.equal(c.method, method);
  assert.equal(c.path, path);
  assert.equal(c.headers["x-api-key"], apiKey, "the connection's credential is injected");
  assertNoKeywayHeaders(c.headers, `${method} ${path}`);
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
// setup

test(`[${backend}] setup: connections for two identities, the actions catalog is served`, async () => {
  keyway.cli(["integrations", "enable", "acme", "--env", "test"]);
  state.k123 = await importConnection("user_123", "user", "acme_good");
  state.k456 = await importConnection("user_456", "user", "acme_other");

  const rows = [];
  for (let skip = 0; skip < ACTION_COUNT; skip += 100) {
    const page = await call(keyway.baseUrl, "GET", `/v1/available-actions/acme?limit=100&skip=${skip}`, {
      secret: keyway.testKey,
    });
    assert.equal(page.status, 200, page.text);
    assert.equal(page.body.total, ACTION_COUNT);
    rows.push(...page.body.rows);
  }
  assert.equal(rows.length, ACTION_COUNT);
  const idOf = (method, path) => {
    const row = rows.find((r) => r.method === method && r.path === path);
    assert.ok(row, `${method} ${path} in /v1/available-actions/acme`);
    assert.match(row.systemId, ACTION_ID_RE);
    return row.systemId;
  };
  state.listId = idOf("GET", LIST_PATH);
  state.createId = idOf("POST", LIST_PATH);
  state.customId = idOf("POST", "/echo/custom/report");
});

// ---------------------------------------------------------------------------------------------------------------
// @picahq/toolkit 1.0.3

test(`[${backend}] toolkit: listPicaConnections lists the identity's connections only`, async () => {
  const tools = toolkit({ connectors: ["*"], actions: ["*"], identity: "user_123", identityType: "user" }).tools();
  assert.deepEqual(
    Object.keys(tools).sort(),
    ["execute", "getActionsKnowledge", "listPicaConnections", "searchPlatformActions"],
    "toolkit tools in standard mode with connectors ['*']",
  );
  const { result, requests, errors } = await runTool(tools.listPicaConnections, {});
  assert.deepEqual(errors, []);
  tools.listPicaConnections.outputSchema.parse(result);
  assert.deepEqual(result, [
    {
      platform: "acme",
      key: {
        fullKey: state.k123,
        parts: {
          environment: "test",
          platform: "acme",
          namespace: "default",
          id: state.k123.split("::")[3].split("|")[0],
          identity: "user_123",
        },
      },
    },
  ]);
  assert.equal(requests.length, 1, `one page: ${requests.map((r) => r.url)}`);
  assert.equal(requests[0].path, "/v1/vault/connections");
  assert.deepEqual(queryOf(requests[0]), { identityType: "user", identity: "user_123", page: "1", limit: "100" });
  assert.equal(requests[0].headers["x-pica-secret"], keyway.testKey);

  const other = toolkit({ connectors: ["*"], actions: ["*"], identity: "user_456", identityType: "user" }).tools();
  const { result: theirs } = await runTool(other.listPicaConnections, {});
  assert.deepEqual(
    theirs.map((c) => c.key.fullKey),
    [state.k456],
    "user_456 sees its own connection, not user_123's",
  );

  const live = toolkit({ connectors: ["*"], actions: ["*"] }, keyway.liveKey).tools();
  const { result: none } = await runTool(live.listPicaConnections, {});
  assert.deepEqual(none, [], "a live key sees no test connection");
});

test(`[${backend}] toolkit: connectors naming keys sends \`keys\`, scoped by identity`, async () => {
  const mark = proxy.requests.length;
  const mine = await toolkit({ connectors: [state.k123], identity: "user_123", identityType: "user" })
    .getConnectedIntegrations();
  assert.deepEqual(
    mine.map((c) => c.key),
    [state.k123],
  );
  const [req] = proxy.since(mark);
  assert.deepEqual(queryOf(req), { keys: state.k123, identityType: "user", identity: "user_123", page: "1", limit: "100" });
  assert.match(req.url, /keys=test::acme::default::[0-9a-f]{32}%7Cuser_123/, "axios percent-encodes | (§4)");

  const both = await toolkit({ connectors: [state.k123, state.k456] }).getConnectedIntegrations();
  assert.deepEqual(both.map((c) => c.key).sort(), [state.k123, state.k456].sort(), "comma-separated keys");

  const crossed = await toolkit({ connectors: [state.k456], identity: "user_123", identityType: "user" })
    .getConnectedIntegrations();
  assert.deepEqual(crossed, [], "another identity's key is not listed for user_123");

  for (const c of both) {
    assert.equal(c.active, true);
    assert.equal(c.platform, "acme");
    assert.ok(Array.isArray(c.tags), "tags is an array");
  }
});

test(`[${backend}] toolkit: searchPlatformActions puts the obvious action first`, async () => {
  const tools = toolkit({ connectors: ["*"], actions: ["*"], identity: "user_123", identityType: "user" }).tools();
  const { result, requests, errors } = await runTool(tools.searchPlatformActions, {
    platform: "acme",
    query: "list issues",
  });
  assert.deepEqual(errors, []);
  tools.searchPlatformActions.outputSchema.parse(result);
  assert.ok(result.length >= 1 && result.length <= 5, `1..5 results: ${JSON.stringify(result)}`);
  const [parts0, parts1, parts2] = state.listId.split("::");
  assert.deepEqual(result[0], {
    title: "List issues",
    method: "GET",
    path: LIST_PATH,
    systemId: { fullId: state.listId, parts: { prefix: parts0, metadata: parts1, suffix: parts2 } },
  });
  assert.equal(requests.length, 1);
  assert.equal(requests[0].path, "/v1/available-actions/search/acme");
  assert.deepEqual(queryOf(requests[0]), { query: "list issues", limit: "5", executeAgent: "true" });

  // permissions filter client-side on the (uppercase) method
  const write = toolkit({ actions: ["*"], permissions: "write" }).tools();
  const { result: writes } = await runTool(write.searchPlatformActions, { platform: "acme", query: "create issue" });
  assert.ok(writes.length > 0, "write permission keeps POST actions");
  assert.equal(writes[0].systemId.fullId, state.createId, "Create an issue comes first");
  assert.ok(writes.every((a) => a.method !== "GET"), "no GET under write permission");

  // an action allow-list with nothing found falls back to the listed actions' knowledge (by _id)
  const only = toolkit({ actions: [state.createId] }).tools();
  const fallback = await runTool(only.searchPlatformActions, { platform: "acme", query: "zzzqqq xyzzy" });
  assert.deepEqual(
    fallback.result.map((a) => [a.systemId.fullId, a.method, a.path, a.title]),
    [[state.createId, "POST", LIST_PATH, "Create an issue"]],
  );
  assert.deepEqual(
    fallback.requests.map((r) => [r.path, queryOf(r)._id ?? null]),
    [
      ["/v1/available-actions/search/acme", null],
      ["/v1/knowledge", state.createId],
    ],
  );
});

test(`[${backend}] toolkit: getActionsKnowledge returns the knowledge, upstream URLs rewritten to passthrough`, async () => {
  const tools = toolkit({ connectors: ["*"], actions: ["*"] }).tools();
  const shortId = state.listId.slice("conn_mod_def::".length); // normalizeActionId adds the prefix back
  const { result, requests, errors } = await runTool(tools.getActionsKnowledge, {
    systemIds: [state.listId, shortId],
  });
  assert.deepEqual(errors, []);
  tools.getActionsKnowledge.outputSchema.parse(result);
  assert.deepEqual(Object.keys(result).sort(), [state.listId, shortId].sort());
  const k = result[state.listId];
  assert.equal(k.title, "List issues");
  assert.equal(k.platform, "acme");
  assert.match(k.knowledge, /List issues/);
  assert.match(k.knowledge, /owner/);
  assert.ok(
    k.knowledge.includes(`${proxy.url}/v1/passthrough/echo/repos/`),
    `the upstream base URL is rewritten to {serverUrl}/v1/passthrough: ${k.knowledge}`,
  );
  assert.ok(!k.knowledge.includes(upstream.url), "no upstream URL is left in the knowledge");
  assert.deepEqual(result[shortId], k);
  assert.deepEqual(
    requests.map((r) => [r.path, queryOf(r)]),
    [
      ["/v1/knowledge", { _id: state.listId }],
      ["/v1/knowledge", { _id: state.listId }],
    ],
  );
});

test(`[${backend}] toolkit: execute runs a GET action through passthrough with the credential injected`, async () => {
  const tools = toolkit({ connectors: ["*"], actions: ["*"], identity: "user_123", identityType: "user" }).tools();
  const input = {
    actionSystemId: state.listId,
    connectionKey: state.k123,
    data: undefined,
    pathVariables: { owner: "octo", repo: "hello" },
    queryParams: { state: "open", labels: "bug,ui" },
  };
  const { result, requests, upstreamCalls, errors } = await runTool(tools.execute, input);
  assert.deepEqual(errors, [], "no error logged");
  tools.execute.outputSchema.parse(result);
  assert.equal(result.success, true, `execute failed: ${JSON.stringify(result.error)}`);
  assert.equal(result.platform, "acme");
  assert.equal(result.action, "List issues");
  assert.equal(result.requestConfig.headers["x-pica-secret"], "****REDACTED****");

  // What the SDK sent: the vault list (key check), knowledge by id, then passthrough.
  assert.deepEqual(
    requests.map((r) => r.path),
    ["/v1/vault/connections", "/v1/knowledge", "/v1/passthrough/echo/repos/octo/hello/issues"],
  );
  assert.deepEqual(queryOf(requests[1]), { _id: state.listId });
  const pt = requests[2];
  assertPassthroughRequest(pt, {
    method: "GET",
    path: "/echo/repos/octo/hello/issues",
    key: state.k123,
    actionId: state.listId,
  });
  assert.equal(pt.headers["content-type"], undefined, "no Content-Type without data");
  assert.deepEqual(queryOf(pt), { state: "open", labels: "bug,ui" });

  // What reached the upstream, and what came back.
  const up = assertUpstreamCall(upstreamCalls, {
    method: "GET",
    path: "/echo/repos/octo/hello/issues",
    apiKey: "acme_good",
  });
  assert.deepEqual(up.query, { state: "open", labels: "bug,ui" });
  assert.equal(up.body, "");
  assert.deepEqual(result.responseData, JSON.parse(JSON.stringify(up)), "the upstream body, as is");
});

test(`[${backend}] toolkit: execute POST: path variables taken from data, JSON body, custom actions, upstream errors`, async () => {
  const tools = toolkit({ connectors: ["*"], actions: ["*"], identity: "user_123", identityType: "user" }).tools();

  // path variables pulled out of `data`; the rest is the JSON body
  const created = await runTool(tools.execute, {
    actionSystemId: state.createId,
    connectionKey: state.k123,
    data: { owner: "octo", repo: "hello", title: "Crash on save", labels: ["bug"] },
  });
  assert.equal(created.result.success, true, JSON.stringify(created.result.error));
  const pt = created.requests.at(-1);
  assertPassthroughRequest(pt, {
    method: "POST",
    path: "/echo/repos/octo/hello/issues",
    key: state.k123,
    actionId: state.createId,
  });
  assert.match(pt.headers["content-type"], /^application\/json/);
  const up = assertUpstreamCall(created.upstreamCalls, {
    method: "POST",
    path: "/echo/repos/octo/hello/issues",
    apiKey: "acme_good",
  });
  assert.match(up.headers["content-type"] ?? "", /^application\/json/);
  assert.deepEqual(up.json, { title: "Crash on save", labels: ["bug"] });
  assert.equal(created.result.responseData.method, "POST");

  // raw path values needing encoding (toolkit inserts them unencoded; the URL parser percent-encodes the space)
  const odd = await runTool(tools.execute, {
    actionSystemId: state.listId,
    connectionKey: state.k123,
    data: undefined,
    pathVariables: { owner: "oc to", repo: "hel@lo" },
  });
  assert.equal(odd.result.success, true, JSON.stringify(odd.result.error));
  const oddUp = odd.upstreamCalls.find((c) => c.path.startsWith("/echo/"));
  assert.ok(oddUp, "the upstream was called");
  assert.equal(odd.requests.at(-1).path, "/v1/passthrough/echo/repos/oc%20to/hel@lo/issues");
  assert.equal(oddUp.rawUrl, "/echo/repos/oc%20to/hel@lo/issues", "forwarded as received");

  // an action tagged "custom": the toolkit adds connectionKey to the body (§10)
  const custom = await runTool(tools.execute, {
    actionSystemId: state.customId,
    connectionKey: state.k123,
    data: { range: "7d" },
  });
  assert.equal(custom.result.success, true, JSON.stringify(custom.result.error));
  const customUp = assertUpstreamCall(custom.upstreamCalls, {
    method: "POST",
    path: "/echo/custom/report",
    apiKey: "acme_good",
  });
  assert.deepEqual(customUp.json, { range: "7d", connectionKey: state.k123 });

  // per-call headers are forwarded; an upstream error status and body come back as they are (§5)
  const failed = await runTool(tools.execute, {
    actionSystemId: state.listId,
    connectionKey: state.k123,
    data: undefined,
    pathVariables: { owner: "octo", repo: "gone" },
    headers: { "x-echo-status": "404" },
  });
  assert.equal(failed.result.success, false);
  assert.equal(failed.result.error.status, 404, JSON.stringify(failed.result.error));
  assert.equal(failed.result.error.data.path, "/echo/repos/octo/gone/issues");
  assert.equal(failed.result.error.data.headers["x-echo-status"], "404");
  assert.equal(failed.result.error.data.headers["x-api-key"], "acme_good");
});

test(`[${backend}] toolkit: execute refuses another identity's connection before calling passthrough`, async () => {
  const tools = toolkit({ connectors: ["*"], actions: ["*"], identity: "user_123", identityType: "user" }).tools();
  const mark = proxy.requests.length;
  const callsBefore = upstream.calls.length;
  await assert.rejects(
    quietly(() =>
      tools.execute.execute(
        { actionSystemId: state.listId, connectionKey: state.k456, data: undefined, pathVariables: { owner: "o", repo: "r" } },
        TOOL_OPTIONS,
      ),
    ),
    /does not exist or is not accessible/,
  );
  assert.deepEqual(
    proxy.since(mark).map((r) => r.path),
    ["/v1/vault/connections"],
  );
  assert.equal(upstream.calls.length, callsBefore, "nothing reached the upstream");

  // user_456's own client runs it, with user_456's credential
  const theirs = toolkit({ connectors: ["*"], actions: ["*"], identity: "user_456", identityType: "user" }).tools();
  const ok = await runTool(theirs.execute, {
    actionSystemId: state.listId,
    connectionKey: state.k456,
    data: undefined,
    pathVariables: { owner: "o", repo: "r" },
  });
  assert.equal(ok.result.success, true, JSON.stringify(ok.result.error));
  assertUpstreamCall(ok.upstreamCalls, { method: "GET", path: "/echo/repos/o/r/issues", apiKey: "acme_other" });
});

test(`[${backend}] toolkit: knowledge-agent mode, connectors and actions lists page by \`page\``, async () => {
  const agent = toolkit({ knowledgeAgent: true });
  const tools = agent.tools();
  assert.deepEqual(Object.keys(tools).sort(), ["getActionsKnowledge", "listPicaIntegrations", "searchPlatformActions"]);

  const connectors = await call(keyway.baseUrl, "GET", "/v1/available-connectors?limit=100", {
    secret: keyway.testKey,
  });
  assert.equal(connectors.status, 200, connectors.text);
  const total = connectors.body.total;

  const { result, requests } = await runTool(tools.listPicaIntegrations, {});
  tools.listPicaIntegrations.outputSchema.parse(result);
  assert.equal(result.length, total, "every connector, across pages");
  assert.deepEqual(
    result.find((r) => r.platform === "acme"),
    { name: "Acme CRM", platform: "acme" },
  );
  assert.equal(new Set(result.map((r) => r.platform)).size, total, "no connector twice");
  assert.deepEqual(
    requests.map((r) => queryOf(r)),
    Array.from({ length: Math.max(1, Math.ceil(total / 100)) }, (_, i) => ({ page: String(i + 1), limit: "100" })),
  );

  const search = await runTool(tools.searchPlatformActions, { platform: "acme", query: "list issues" });
  assert.deepEqual(queryOf(search.requests[0]), { query: "list issues", limit: "5", knowledgeAgent: "true" });
  assert.equal(search.result[0].systemId.fullId, state.listId);

  const mark = proxy.requests.length;
  const actions = await quietly(() => agent.getAvailableActions("acme"));
  assert.equal(actions.result.length, ACTION_COUNT, "every action, across pages");
  assert.equal(new Set(actions.result.map((a) => a.key)).size, ACTION_COUNT, "no action twice");
  const listed = actions.result.find((a) => a.title === "List issues");
  assert.equal(listed.method, "GET");
  assert.equal(listed.platform, "acme");
  assert.deepEqual(
    proxy.since(mark).map((r) => [r.path, queryOf(r)]),
    [
      ["/v1/available-actions/acme", { page: "1", limit: "100" }],
      ["/v1/available-actions/acme", { page: "2", limit: "100" }],
    ],
  );
});

// ---------------------------------------------------------------------------------------------------------------
// @picahq/ai 3.0.2

test(`[${backend}] ai: the constructor loads the identity's connections (skip-paged) and the connectors`, async () => {
  const { pica, requests } = await aiClient({ connectors: ["*"], identity: "user_123", identityType: "user" });
  const vault = requests.filter((r) => r.path === "/v1/vault/connections");
  assert.deepEqual(
    vault.map((r) => r.url),
    ["/v1/vault/connections?identity=user_123&identityType=user&limit=100&skip=0"],
  );
  const defs = requests.filter((r) => r.path === "/v1/available-connectors");
  assert.ok(defs.length >= 1);
  defs.forEach((r, i) => assert.deepEqual(queryOf(r), { limit: "100", skip: String(i * 100) }));
  for (const r of requests) assert.equal(r.headers["x-pica-secret"], keyway.testKey);

  const system = await pica.generateSystemPrompt();
  assert.ok(system.includes(`acme - Key: ${state.k123}`), `the system prompt lists user_123's key:\n${system}`);
  assert.ok(!system.includes(state.k456), "not user_456's");
  assert.ok(system.includes("acme (Acme CRM)"), "the connectors are listed");

  const connections = await pica.getAvailableConnectors();
  assert.equal(connections.length, 1);
  const [c] = connections;
  assert.equal(c.key, state.k123);
  assert.equal(c.platform, "acme");
  assert.equal(c.active, true);
  assert.equal(c.identity, "user_123");
  assert.equal(typeof c._id, "string", "_id as well as id (§9)");

  const connectors = await pica.getAvailablePicaConnectors();
  const acme = connectors.find((d) => d.platform === "acme");
  assert.ok(acme, "acme among the connectors");
  assert.equal(acme.name, "Acme CRM");
  assert.equal(acme.active, true);
  assert.equal(acme.deprecated, false);
  assert.equal(acme.tools, ACTION_COUNT, "tools = action count");
  state.ai123 = pica;
});

test(`[${backend}] ai: oneTool lists actions (knowledge, skip-paged) and reads one action's knowledge`, async () => {
  const tools = state.ai123.oneTool;
  assert.deepEqual(Object.keys(tools).sort(), ["execute", "getActionKnowledge", "getAvailableActions"]);

  const listed = await runTool(tools.getAvailableActions, { platform: "acme" });
  assert.equal(listed.result.success, true, JSON.stringify(listed.result));
  tools.getAvailableActions.outputSchema.parse(listed.result);
  assert.equal(listed.result.actions.length, ACTION_COUNT, "every action, across pages");
  assert.deepEqual(
    listed.result.actions.find((a) => a._id === state.listId),
    { _id: state.listId, title: "List issues", tags: ["issues"] },
  );
  assert.deepEqual(
    listed.requests.map((r) => r.url),
    [
      "/v1/knowledge?supported=true&connectionPlatform=acme&skip=0&limit=100",
      "/v1/knowledge?supported=true&connectionPlatform=acme&skip=100&limit=100",
    ],
  );

  const known = await runTool(tools.getActionKnowledge, { platform: "acme", actionId: state.listId });
  assert.equal(known.result.success, true, JSON.stringify(known.result));
  tools.getActionKnowledge.outputSchema.parse(known.result);
  const a = known.result.action;
  assert.equal(a._id, state.listId);
  assert.equal(a.title, "List issues");
  assert.equal(a.connectionPlatform, "acme");
  assert.equal(a.method, "GET");
  assert.equal(a.path, LIST_PATH);
  assert.deepEqual(a.tags, ["issues"]);
  assert.equal(a.baseUrl.replace(/\/$/, ""), upstream.url, "baseUrl is the real upstream base");
  assert.match(a.knowledge, /List issues/);
  assert.deepEqual(
    known.requests.map((r) => r.url),
    [`/v1/knowledge?_id=${state.listId}`],
  );
});

test(`[${backend}] ai: oneTool.execute runs actions through passthrough`, async () => {
  const tools = state.ai123.oneTool;

  // GET without `method`: the SDK reads it from knowledge (3.0.2)
  const got = await runTool(tools.execute, {
    platform: "acme",
    action: { _id: state.listId, path: LIST_PATH },
    connectionKey: state.k123,
    pathVariables: { owner: "octo", repo: "hello" },
    queryParams: { state: "open" },
  });
  assert.equal(got.result.success, true, JSON.stringify(got.result));
  assert.equal(got.result.action, "List issues");
  assert.equal(got.result.connectionKey, state.k123);
  assert.equal(got.result.requestConfig.headers["x-pica-secret"], "****REDACTED****");
  assert.deepEqual(
    got.requests.map((r) => r.path),
    ["/v1/knowledge", "/v1/knowledge", "/v1/passthrough/echo/repos/octo/hello/issues"],
  );
  const pt = got.requests[2];
  assertPassthroughRequest(pt, {
    method: "GET",
    path: "/echo/repos/octo/hello/issues",
    key: state.k123,
    actionId: state.listId,
  });
  assert.deepEqual(queryOf(pt), { state: "open" });
  const up = assertUpstreamCall(got.upstreamCalls, {
    method: "GET",
    path: "/echo/repos/octo/hello/issues",
    apiKey: "acme_good",
  });
  assert.deepEqual(up.query, { state: "open" });
  assert.deepEqual(got.result.data, JSON.parse(JSON.stringify(up)));

  // POST with `method` given, path variables from data
  const posted = await runTool(tools.execute, {
    platform: "acme",
    action: { _id: state.createId, path: LIST_PATH },
    method: "POST",
    connectionKey: state.k123,
    data: { owner: "octo", repo: "hello", title: "From @picahq/ai" },
  });
  assert.equal(posted.result.success, true, JSON.stringify(posted.result));
  const postUp = assertUpstreamCall(posted.upstreamCalls, {
    method: "POST",
    path: "/echo/repos/octo/hello/issues",
    apiKey: "acme_good",
  });
  assert.deepEqual(postUp.json, { title: "From @picahq/ai" });
  assert.equal(posted.result.data.json.title, "From @picahq/ai");

  // a key not loaded by the constructor (another identity's) is refused by the SDK
  const refused = await runTool(tools.execute, {
    platform: "acme",
    action: { _id: state.listId, path: LIST_PATH },
    connectionKey: state.k456,
    pathVariables: { owner: "o", repo: "r" },
  });
  assert.equal(refused.result.success, false);
  assert.match(refused.result.message, /Connection not found/);
  assert.deepEqual(refused.requests, []);
  assert.deepEqual(refused.upstreamCalls, []);
});

test(`[${backend}] ai: connectors naming a key (raw \`|\` in \`key=\`), authkit connectors, intelligenceTool`, async () => {
  const { pica, requests } = await aiClient({ connectors: [state.k123], identity: "user_123", identityType: "user" });
  const [vault] = requests.filter((r) => r.path === "/v1/vault/connections");
  assert.ok(vault.url.includes(`key=${state.k123}&`), `@picahq/ai sends the key unencoded (§4): ${vault.url}`);
  assert.equal(vault.query.get("key"), state.k123);
  assert.equal(vault.query.get("skip"), "0");
  const system = await pica.generateSystemPrompt();
  assert.ok(system.includes(`acme - Key: ${state.k123}`), system);

  const { pica: other } = await aiClient({ connectors: [state.k123], identity: "user_456", identityType: "user" });
  assert.deepEqual(await other.getAvailableConnectors(), [], "user_123's key is not user_456's");

  // authkit: only the integrations enabled for the key's environment
  const { pica: withAuthkit, requests: akRequests } = await aiClient({ connectors: ["*"], authkit: true });
  const defs = akRequests.filter((r) => r.path === "/v1/available-connectors");
  assert.deepEqual(
    defs.map((r) => r.url),
    ["/v1/available-connectors?authkit=true&limit=100&skip=0"],
  );
  assert.deepEqual(
    (await withAuthkit.getAvailablePicaConnectors()).map((d) => d.platform),
    ["acme"],
  );
  assert.ok("promptToConnectPlatform" in withAuthkit.oneTool);

  // intelligenceTool.execute returns a request config and calls nothing
  const intel = await runTool(state.ai123.intelligenceTool.execute, {
    platform: "acme",
    action: { _id: state.listId, path: LIST_PATH },
    method: "GET",
    connectionKey: state.k123,
    pathVariables: { owner: "octo", repo: "hello" },
  });
  assert.equal(intel.result.success, true, JSON.stringify(intel.result));
  const config = JSON.parse(intel.result.raw);
  assert.equal(config.url, `${proxy.url}/v1/passthrough/echo/repos/octo/hello/issues`);
  assert.equal(config.headers["x-pica-action-id"], state.listId);
  assert.equal(config.headers["x-pica-connection-key"], state.k123);
  assert.deepEqual(intel.requests, [], "no request to Keyway");
  assert.deepEqual(intel.upstreamCalls, [], "no request upstream");
});

// ---------------------------------------------------------------------------------------------------------------
// more than one page of connections

test(`[${backend}] more than 100 connections: ai pages by \`skip\`, toolkit by \`page\`, nothing lost or repeated`, async () => {
  const keys = [];
  for (let i = 0; i < BULK; i++) keys.push(await importConnection("team_bulk", "team", "acme_bulk"));

  const { pica, requests } = await aiClient({ connectors: ["*"], identity: "team_bulk", identityType: "team" });
  assert.deepEqual(
    requests.filter((r) => r.path === "/v1/vault/connections").map((r) => queryOf(r).skip),
    ["0", "100"],
  );
  const loaded = await pica.getAvailableConnectors();
  assert.deepEqual(loaded.map((c) => c.key).sort(), [...keys].sort());

  const tools = toolkit({ connectors: ["*"], actions: ["*"], identity: "team_bulk", identityType: "team" }).tools();
  const listed = await runTool(tools.listPicaConnections, {});
  assert.deepEqual(listed.result.map((c) => c.key.fullKey).sort(), [...keys].sort());
  assert.deepEqual(
    listed.requests.map((r) => queryOf(r).page),
    ["1", "2"],
  );

  // the last connection of page 2 runs through the toolkit's execute (whose key check lists every page)
  const last = keys.at(-1);
  const ran = await runTool(tools.execute, {
    actionSystemId: state.listId,
    connectionKey: last,
    data: undefined,
    pathVariables: { owner: "team", repo: "bulk" },
  });
  assert.equal(ran.result.success, true, JSON.stringify(ran.result.error));
  assertUpstreamCall(ran.upstreamCalls, { method: "GET", path: "/echo/repos/team/bulk/issues", apiKey: "acme_bulk" });
});

test(`[${backend}] keyway exits 0 on SIGTERM`, async () => {
  const { code, signal, timedOut } = await keyway.stop();
  assert.equal(timedOut, false);
  assert.equal(signal, null);
  assert.equal(code, 0, keyway.logs());
});
