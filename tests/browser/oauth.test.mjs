// OAuth through the modal's popup: the fake provider's consent page (Approve / Deny), Keyway's callback page
// reporting to the modal, and the states a person sees while waiting, when declining, when closing the window
// early and when the browser blocks the popup. Tests run in order and share one Keyway.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { CLIENT_ID, CLIENT_SECRET, backend, call, screenshotDir, startWorld } from "./support.mjs";

const IDENTITY = "user_oauth";
const KEY_RE = new RegExp(`^test::acme-oauth::default::[0-9a-f]{32}\\|${IDENTITY}$`);

let world;
let context;
let secretDir;

before(async () => {
  world = await startWorld();
  world.keyway.cli(["integrations", "enable", "acme-oauth", "--env", "test"]);
  secretDir = mkdtempSync(join(tmpdir(), "keyway-oauth-secret-"));
  writeFileSync(join(secretDir, "secret"), CLIENT_SECRET);
  world.keyway.cli([
    "integrations", "oauth-app", "acme-oauth", "--env", "test",
    "--client-id", CLIENT_ID, "--client-secret-file", join(secretDir, "secret"),
  ]);
  context = await world.browser.newContext({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  await context?.close().catch(() => {});
  await world?.stop();
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

async function openModal(page, props = {}) {
  const options = {
    baseUrl: `${world.keyway.baseUrl}/authkit`,
    token: { url: `${world.host.url}/authkit-token`, headers: { "x-user-id": IDENTITY } },
    selectedConnection: "Acme Cloud",
    companyName: "Northwind",
    ...props,
  };
  await page.goto(`${world.host.url}/?options=${encodeURIComponent(JSON.stringify(options))}`);
  await page.click("#connect");
  const frame = page.frameLocator("#event-link");
  await frame.getByRole("heading", { name: "Connect Acme Cloud" }).waitFor();
  return frame;
}

const events = (page) => page.evaluate(() => window.events);

async function waitForEvent(page, type) {
  await page.waitForFunction((t) => window.events.some((e) => e.type === t), type, { timeout: 15_000 });
  return (await events(page)).filter((e) => e.type === type);
}

async function shot(page, name) {
  await page.waitForTimeout(350);
  await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
}

/** Click "Continue to Acme Cloud"; resolves to the popup once it shows the provider's consent page. */
async function continueToProvider(page, frame) {
  const popupOpened = page.waitForEvent("popup");
  await frame.getByRole("button", { name: "Continue to Acme Cloud" }).click();
  const popup = await popupOpened;
  await popup.getByRole("link", { name: "Approve" }).waitFor({ timeout: 15_000 });
  return popup;
}

test(`[${backend}] approving in the provider's popup connects: LINK_SUCCESS with key, listed in the vault`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page);
  await shot(page, "light-oauth");
  const popup = await continueToProvider(page, frame);
  await frame.getByRole("heading", { name: "Waiting for Acme Cloud" }).waitFor();
  await shot(page, "light-oauth-waiting");

  const closed = popup.waitForEvent("close");
  await popup.getByRole("link", { name: "Approve" }).click();
  await closed;
  await frame.getByRole("heading", { name: "Acme Cloud is connected" }).waitFor();
  const [success] = await waitForEvent(page, "success");
  assert.match(success.payload.key, KEY_RE);
  assert.equal(success.payload.platform, "acme-oauth");
  assert.equal(success.payload.identity, IDENTITY);

  const res = await call(world.keyway.baseUrl, "GET", `/v1/vault/connections?identity=${IDENTITY}`, {
    secret: world.keyway.testKey,
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.total, 1);
  assert.equal(res.body.rows[0].key, success.payload.key);
  assert.ok(world.platform.calls.some((c) => c.path === "/token"), "the code was exchanged");

  await frame.getByRole("button", { name: "Done" }).click();
  await waitForEvent(page, "close");
  assert.deepEqual((await events(page)).map((e) => e.type), ["success", "close"]);
  await page.close();
});

test(`[${backend}] declining in the popup shows a clear message and posts LINK_ERROR`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page, { appTheme: "dark" });
  const popup = await continueToProvider(page, frame);
  const closed = popup.waitForEvent("close");
  await popup.getByRole("link", { name: "Deny" }).click();
  await closed;
  await frame.getByRole("alert").getByText("Access wasn't granted on Acme Cloud, so nothing was connected.").waitFor();
  await shot(page, "dark-oauth-declined");
  const errors = await waitForEvent(page, "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0].payload, /nothing was connected/);
  assert.equal((await events(page)).filter((e) => e.type === "success").length, 0);
  await frame.getByRole("button", { name: "Continue to Acme Cloud" }).waitFor();
  await page.close();
});

test(`[${backend}] closing the popup before finishing says so, and nothing is posted`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page);
  const popup = await continueToProvider(page, frame);
  await popup.close();
  await frame.getByRole("alert").getByText("window was closed before you finished").waitFor();
  assert.deepEqual(await events(page), []);
  await page.close();
});

test(`[${backend}] a blocked popup says how to allow it`, async () => {
  const blocked = await world.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    // What a popup blocker does: window.open answers null.
    await blocked.addInitScript(() => {
      if (window.location.pathname.endsWith("/authkit")) window.open = () => null;
    });
    const page = await blocked.newPage();
    const frame = await openModal(page);
    await frame.getByRole("button", { name: "Continue to Acme Cloud" }).click();
    await frame.getByRole("alert").getByText("Your browser blocked the Acme Cloud window").waitFor();
    await shot(page, "light-oauth-blocked");
    assert.deepEqual(await events(page), []);
  } finally {
    await blocked.close();
  }
});

test(`[${backend}] when the provider cuts the popup off from the modal, the modal asks Keyway and still connects`, async () => {
  const severed = await world.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    // What a provider's Cross-Origin-Opener-Policy (no window.opener) and a BroadcastChannel partitioned by
    // top-level site (the modal is a third-party frame) leave the callback page: no way to reach the modal.
    await severed.addInitScript(() => {
      if (window.location.pathname.endsWith("/oauth/callback")) {
        window.opener = null;
        window.BroadcastChannel = undefined;
      }
    });
    const page = await severed.newPage();
    const frame = await openModal(page);
    const popup = await continueToProvider(page, frame);
    const closed = popup.waitForEvent("close");
    await popup.getByRole("link", { name: "Approve" }).click();
    await closed;
    await frame.getByRole("heading", { name: "Acme Cloud is connected" }).waitFor({ timeout: 15_000 });
    const [success] = await waitForEvent(page, "success");
    assert.match(success.payload.key, KEY_RE);
    assert.equal(success.payload.platform, "acme-oauth");
    assert.equal((await events(page)).filter((e) => e.type === "error").length, 0);
  } finally {
    await severed.close();
  }
});
