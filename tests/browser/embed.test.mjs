// `/authkit.js` from a plain page (no React, no bundler): KeywayAuthKit.open() opens the same modal, and the
// callbacks fire as with @picahq/authkit.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { backend, call, startWorld } from "./support.mjs";

const IDENTITY = "user_plain";

let world;
let context;

before(async () => {
  world = await startWorld();
  world.keyway.cli(["integrations", "enable", "acme", "--env", "test"]);
  context = await world.browser.newContext({ viewport: { width: 1024, height: 768 } });
});

after(async () => {
  await context?.close().catch(() => {});
  await world?.stop();
});

test(`[${backend}] KeywayAuthKit.open() connects from a plain page, with a title btoa alone could not carry`, async () => {
  const page = await context.newPage();
  const options = {
    token: { url: "/authkit-token", headers: { "x-user-id": IDENTITY } },
    title: "Connect ✓ 日本の会社",
    selectedConnection: "acme CRM",
  };
  await page.goto(`${world.host.url}/plain?options=${encodeURIComponent(JSON.stringify(options))}`);
  await page.click("#connect");
  const iframe = page.locator("#event-link");
  assert.match(await iframe.getAttribute("src"), new RegExp(`^${world.keyway.baseUrl}/authkit\\?data=`));
  const frame = page.frameLocator("#event-link");
  await frame.getByRole("heading", { name: "Connect Acme CRM" }).waitFor();
  assert.equal(await frame.locator("body").evaluate(() => document.title), "Connect ✓ 日本の会社");

  await frame.getByLabel("API key", { exact: true }).fill("acme_good");
  await frame.getByRole("button", { name: "Connect Acme CRM" }).click();
  await page.waitForFunction(() => window.events.some((e) => e.type === "success"));
  const [success] = await page.evaluate(() => window.events);
  assert.match(success.payload.key, new RegExp(`\\|${IDENTITY}$`));

  await frame.getByRole("button", { name: "Close" }).click();
  await page.waitForFunction(() => window.events.some((e) => e.type === "close"));
  await page.waitForSelector("#event-link", { state: "detached" });
  assert.deepEqual(
    (await page.evaluate(() => window.events)).map((e) => e.type),
    ["success", "close"],
  );

  const res = await call(world.keyway.baseUrl, "GET", `/v1/vault/connections?identity=${IDENTITY}`, {
    secret: world.keyway.testKey,
  });
  assert.equal(res.body.total, 1);
  await page.close();
});

test(`[${backend}] the modal page and /authkit.js carry the headers a framed page needs`, async () => {
  const page = await call(world.keyway.baseUrl, "GET", "/authkit");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  assert.equal(page.headers.get("x-frame-options"), null);
  assert.match(page.headers.get("content-security-policy"), /script-src 'self'/);
  assert.equal(page.headers.get("referrer-policy"), "no-referrer");
  const script = await call(world.keyway.baseUrl, "GET", "/authkit.js");
  assert.match(script.headers.get("content-type"), /^text\/javascript/);
  assert.match(script.text, /KeywayAuthKit/);
});
