// The connect modal in Debian's chromium, opened by the published @picahq/authkit (pica-compat §7) from a
// customer's page on another site, against a real Keyway. Tests run in order and share one Keyway.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { backend, call, screenshotDir, startWorld } from "./support.mjs";

const IDENTITY = "user_browser";
const KEY_RE = new RegExp(`^test::acme::default::[0-9a-f]{32}\\|${IDENTITY}$`);

let world;
let context;

before(async () => {
  world = await startWorld();
  world.keyway.cli(["integrations", "enable", "acme", "--env", "test"]);
  world.keyway.cli(["integrations", "enable", "acme-oauth", "--env", "test"]);
  context = await world.browser.newContext({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  await context?.close().catch(() => {});
  await world?.stop();
});

/** The host page with these useAuthKit props; clicks its button; resolves to the modal's frame. */
async function openModal(page, props = {}, { user = IDENTITY } = {}) {
  const options = {
    baseUrl: `${world.keyway.baseUrl}/authkit`,
    token: { url: `${world.host.url}/authkit-token`, headers: { "x-user-id": user } },
    ...props,
  };
  await page.goto(`${world.host.url}/?options=${encodeURIComponent(JSON.stringify(options))}`);
  await page.click("#connect");
  const frame = page.frameLocator("#event-link");
  await frame.getByRole("dialog").waitFor();
  return frame;
}

const events = (page) => page.evaluate(() => window.events);

async function waitForEvent(page, type) {
  await page.waitForFunction((t) => window.events.some((e) => e.type === t), type, { timeout: 10_000 });
  return (await events(page)).filter((e) => e.type === type);
}

async function shot(page, name) {
  await page.waitForTimeout(350); // let the open animation finish
  // One image pixel per CSS pixel. At deviceScaleFactor 2 a device-scale screenshot left Playwright
  // aiming later clicks in the cross-site modal frame at the wrong point (about 1 run in 4 on chromium 156:
  // the search field "intercepts pointer events" over the button below it until the click times out).
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), scale: "css" });
}

async function vault(query) {
  const res = await call(world.keyway.baseUrl, "GET", `/v1/vault/connections${query}`, { secret: world.keyway.testKey });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

test(`[${backend}] the SDK's iframe loads the modal, which gets a session from the token endpoint and lists integrations`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page, { companyName: "Northwind" });
  const list = frame.getByRole("list", { name: "Integrations" });
  await list.getByRole("button", { name: /Acme CRM/ }).waitFor();
  await list.getByRole("button", { name: /Acme Cloud/ }).waitFor();
  assert.equal(await list.getByRole("listitem").count(), 2);

  const iframe = page.locator("#event-link");
  assert.match(await iframe.getAttribute("src"), new RegExp(`^${world.keyway.baseUrl}/authkit\\?data=`));
  assert.equal(await iframe.evaluate((el) => el.style.display), "block");

  const calls = world.host.tokenCalls;
  assert.equal(calls.length, 1, "one call to the customer's token endpoint");
  assert.equal(calls[0].method, "POST");
  assert.equal(calls[0].body, "{}");
  assert.equal(calls[0].headers["x-user-id"], IDENTITY, "linkHeaders are sent");

  const logosLoaded = await frame.locator("img.logo").evaluateAll((imgs) => imgs.map((i) => i.naturalWidth > 0));
  assert.deepEqual(logosLoaded, [true, true], "platform logos load under the page's CSP");
  await frame.getByText("Test mode").waitFor();
  await shot(page, "light-list");

  const search = frame.getByRole("searchbox", { name: "Search integrations" });
  assert.ok(await search.evaluate((el) => el === document.activeElement), "search has focus");
  await search.fill("cloud");
  assert.equal(await list.getByRole("listitem").count(), 1);
  await search.fill("zzz");
  await frame.getByText("Nothing matches").waitFor();
  assert.equal(await list.getByRole("listitem").count(), 0);
  assert.deepEqual(await events(page), [], "nothing posted yet");
  await page.close();
});

test(`[${backend}] a wrong API key: inline validation, then the platform's refusal in words, and no LINK_SUCCESS`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page);
  await frame.getByRole("button", { name: /Acme CRM/ }).click();
  await frame.getByRole("heading", { name: "Connect Acme CRM" }).waitFor();
  const key = frame.getByLabel("API key", { exact: true });

  await frame.getByRole("button", { name: "Connect Acme CRM" }).click();
  await frame.getByText("Enter your API key.").waitFor();
  assert.equal(await key.getAttribute("aria-invalid"), "true");
  assert.ok(await key.evaluate((el) => el === document.activeElement), "focus moves to the invalid field");

  await key.fill("not a key");
  await frame.getByText("This doesn't look like a valid API key").waitFor();
  await key.fill("acme_wrong");
  await frame.getByRole("button", { name: "Connect Acme CRM" }).click();
  const alert = frame.getByRole("alert");
  await alert.getByText("Acme CRM didn't accept these details. Check them and try again.").waitFor();
  await shot(page, "light-error");

  const errors = await waitForEvent(page, "error");
  assert.deepEqual(errors, [{ type: "error", payload: "Acme CRM didn't accept these details. Check them and try again." }]);
  assert.equal((await events(page)).filter((e) => e.type === "success").length, 0);
  assert.equal((await vault(`?identity=${IDENTITY}`)).total, 0);
  await page.close();
});

test(`[${backend}] a good API key connects: LINK_SUCCESS carries the record with key, the vault lists it; Done closes`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page);
  await frame.getByRole("button", { name: /Acme CRM/ }).click();
  const key = frame.getByLabel("API key", { exact: true });
  await key.fill("acme_good");
  assert.equal(await key.getAttribute("type"), "password");
  await frame.getByRole("button", { name: "Show API key" }).click();
  assert.equal(await key.getAttribute("type"), "text");
  await frame.getByRole("button", { name: "Connect Acme CRM" }).click();
  await frame.getByRole("heading", { name: "Acme CRM is connected" }).waitFor();
  await shot(page, "light-success");

  const [success] = await waitForEvent(page, "success");
  const record = success.payload;
  assert.match(record.key, KEY_RE);
  assert.equal(record.platform, "acme");
  assert.equal(record.identity, IDENTITY);
  assert.equal(record.environment, "test");
  assert.equal(typeof record.createdAt, "number");

  const listed = await vault(`?identity=${IDENTITY}`);
  assert.equal(listed.total, 1);
  assert.equal(listed.rows[0].key, record.key);

  assert.equal((await events(page)).length, 1, "the modal stays open after LINK_SUCCESS");
  await frame.getByRole("button", { name: "Done" }).click();
  await waitForEvent(page, "close");
  await page.waitForSelector("#event-link", { state: "detached" });
  assert.deepEqual(
    (await events(page)).map((e) => e.type),
    ["success", "close"],
    "each message once",
  );
  await page.close();
});

test(`[${backend}] keyboard: focus stays in the dialog, Esc closes (onClose)`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page);
  await frame.getByRole("button", { name: /Acme CRM/ }).waitFor();
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("Tab");
    const inside = await frame.locator("body").evaluate(() => document.getElementById("dialog").contains(document.activeElement));
    assert.ok(inside, `focus left the dialog after ${i + 1} Tab(s)`);
  }
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Escape");
  await waitForEvent(page, "close");
  await page.waitForSelector("#event-link", { state: "detached" });
  assert.deepEqual(await events(page), [{ type: "close" }]);
  await page.close();
});

test(`[${backend}] dark theme, host branding, selectedConnection jumps to the form, showNameInput names the connection`, async () => {
  const page = await context.newPage();
  const logo =
    "data:image/svg+xml;base64," +
    Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#0f172a"/><path d="M9 23V9h3l8 10V9h3v14h-3l-8-10v10z" fill="#fff"/></svg>',
    ).toString("base64");
  const frame = await openModal(page, {
    appTheme: "dark",
    title: "Connect Northwind",
    companyName: "Northwind",
    imageUrl: logo,
    selectedConnection: "Acme CRM",
    showNameInput: true,
  });
  await frame.getByRole("heading", { name: "Connect Acme CRM" }).waitFor();
  assert.equal(await frame.locator("html").getAttribute("data-theme"), "dark");
  await frame.getByText("Northwind", { exact: true }).waitFor();
  assert.ok(await frame.locator("img.host-logo").evaluate((i) => i.naturalWidth > 0), "host imageUrl shown");
  await shot(page, "dark-form");

  await frame.getByLabel("API key", { exact: true }).fill("acme_bad");
  await frame.getByRole("button", { name: "Connect Acme CRM" }).click();
  await frame.getByRole("alert").waitFor();
  await shot(page, "dark-error");

  await frame.getByLabel("API key", { exact: true }).fill("acme_good");
  await frame.getByLabel("Connection name").fill("Work account");
  await frame.getByRole("button", { name: "Connect Acme CRM" }).click();
  await frame.getByRole("heading", { name: "Acme CRM is connected" }).waitFor();
  await shot(page, "dark-success");
  const [success] = await waitForEvent(page, "success");
  assert.equal(success.payload.name, "Work account");

  await frame.getByRole("button", { name: "Connect another app" }).click();
  await frame.getByRole("heading", { name: "Connect Northwind" }).waitFor();
  await shot(page, "dark-list");
  await page.close();
});

test(`[${backend}] the title is read as Latin-1, as btoa wrote it`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page, { title: "Connectez vos outils, Zoë & Café ×" });
  await frame.getByRole("heading", { name: "Connectez vos outils, Zoë & Café ×" }).waitFor();
  await page.close();
});

test(`[${backend}] an error from the token endpoint is shown and posted as LINK_ERROR`, async () => {
  const page = await context.newPage();
  const frame = await openModal(page, {}, { user: "nobody" });
  await frame.getByRole("heading", { name: "We couldn't connect right now" }).waitFor();
  await frame.locator(".result p", { hasText: "identity is required" }).waitFor();
  const errors = await waitForEvent(page, "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0].payload, /identity is required/);
  await shot(page, "light-token-error");
  await frame.getByRole("button", { name: "Close" }).first().click();
  await waitForEvent(page, "close");
  await page.close();
});

test(`[${backend}] at 360 px the dialog fills the screen without sideways scrolling`, async () => {
  const phone = await world.browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2 });
  try {
    const page = await phone.newPage();
    const frame = await openModal(page, { companyName: "Northwind" });
    await frame.getByRole("button", { name: /Acme CRM/ }).waitFor();
    await shot(page, "phone-list");
    const box = await frame.locator("#dialog").boundingBox();
    assert.equal(Math.round(box.width), 360);
    const overflow = await frame.locator("body").evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "no horizontal scroll");
    // On phones the dialog slides in; click once it has settled.
    await frame.locator("#dialog").evaluate((el) => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished)));
    await frame.getByRole("button", { name: /Acme CRM/ }).click();
    await frame.getByRole("button", { name: "Connect Acme CRM" }).click();
    await frame.getByText("Enter your API key.").waitFor();
    await shot(page, "phone-form");
  } finally {
    await phone.close();
  }
});
