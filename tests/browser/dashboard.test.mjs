// The dashboard in Debian's chromium against a real Keyway: the first owner through the setup link,
// signing in and out, integrations and the modal, an OAuth app, one connection among 10,000, keys, a
// viewer who can change nothing, the audit trail; screenshots of every page (light and dark, desktop
// and 360 px) and an axe-core check of each for serious accessibility problems. Tests run in order and
// share one Keyway.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { call, GOOD_KEY, screenshotDir, startWorld } from "./support.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const OWNER = "owner@example.com";
const PASSWORD = "correct horse battery staple";
const SEEDED = 10_000;

let world;
let owner; // the owner's browser context
let page; // the owner's tab
let root; // `${base}/dashboard/{project}/test`

before(async () => {
  world = await startWorld();
  owner = await world.browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await owner.newPage();
  page.on("pageerror", (e) => {
    throw e;
  });
});

after(async () => {
  await owner?.close().catch(() => {});
  await world?.stop();
});

/** Imports `count` acme connections for user_00000… through the API, 32 at a time. */
async function seed(count) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const identity = `user_${String(i).padStart(5, "0")}`;
      const res = await call(world.keyway.baseUrl, "POST", "/v1/vault/connections", {
        secret: world.keyway.testKey,
        body: {
          platform: "acme",
          identity,
          identityType: "user",
          authFormData: { apiKey: GOOD_KEY },
          tags: i % 100 === 0 ? ["hundred"] : [],
        },
      });
      assert.equal(res.status, 201, res.text);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Screenshots of the current page at desktop and 360 px, light and dark; axe finds nothing serious. */
async function capture(name) {
  for (const colorScheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme });
    for (const [label, width, height] of [["desktop", 1280, 860], ["360", 360, 760]]) {
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(250);
      await page.screenshot({ path: join(screenshotDir, `dashboard-${name}-${colorScheme}-${label}.png`), fullPage: label === "desktop", scale: "css" });
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1280, height: 860 });
  await axe(name);
}

/** axe-core in a CSP-free copy of the page (the dashboard's CSP rightly refuses injected scripts). */
async function axe(name) {
  const checker = await world.browser.newContext({ bypassCSP: true, storageState: await owner.storageState() });
  try {
    const tab = await checker.newPage();
    await tab.goto(page.url());
    await tab.addScriptTag({ content: AXE });
    const result = await tab.evaluate(async () =>
      window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "best-practice"], resultTypes: ["violations"] }),
    );
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(
      serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
      [],
      `${name}: accessibility problems`,
    );
  } finally {
    await checker.close();
  }
}

async function vaultRows(query) {
  const res = await call(world.keyway.baseUrl, "GET", `/v1/vault/connections${query}`, { secret: world.keyway.testKey });
  assert.equal(res.status, 200);
  return res.body.rows;
}

async function authkitPlatforms() {
  const res = await call(world.keyway.baseUrl, "POST", "/v1/authkit", {
    secret: world.keyway.testKey,
    body: { identity: "someone", identityType: "user" },
  });
  assert.equal(res.status, 200);
  return res.body.rows.map((r) => r.type).sort();
}

test("the setup link printed by keyway serve creates the first owner and signs them in", async () => {
  assert.ok(world.keyway.setupUrl, `no setup link in:\n${world.keyway.logs()}`);
  await page.goto(world.keyway.setupUrl);
  await capture("setup");
  await page.getByLabel("Your email").fill(OWNER);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Password again").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account and sign in" }).click();
  await page.getByRole("heading", { name: "Integrations", level: 1 }).waitFor();
  assert.match(await page.getByRole("status").first().innerText(), /Welcome, owner@example.com/);
  root = page.url().replace(/\/integrations.*$/, "");
  assert.match(root, /\/dashboard\/prj_[0-9a-f]{32}\/test$/);
  // The link works once.
  const again = await owner.newPage();
  await again.goto(world.keyway.setupUrl);
  assert.match(await again.locator("main").innerText(), /expired or was already used/);
  await again.close();
});

test("sign out, a wrong password, and signing in again", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in", level: 1 }).waitFor();
  assert.match(await page.locator("main").innerText(), /You are signed out/);
  await page.goto(`${root}/keys`);
  await page.getByRole("heading", { name: "Sign in", level: 1 }).waitFor(); // pages need a session
  await page.getByLabel("Email").fill(OWNER);
  await page.getByLabel("Password").fill("not my password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.match(await page.getByRole("alert").innerText(), /email address or the password is not right/);
  assert.equal(await page.getByLabel("Email").inputValue(), OWNER, "the email is kept");
  assert.equal(await page.getByLabel("Password").getAttribute("aria-invalid"), "true");
  await capture("sign-in-error");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Secret keys", level: 1 }).waitFor(); // back where the link pointed
});

test("an integration switched on with the keyboard shows in POST /v1/authkit and in the modal", async () => {
  await page.goto(`${root}/integrations`);
  assert.deepEqual(await authkitPlatforms(), []);
  await page.getByLabel("Search").fill("acme crm");
  assert.equal(await page.locator(".integration:not([hidden])").count(), 1, "the list filters as you type");
  assert.match(page.url(), /q=acme\+crm/, "filters stay in the URL");
  const toggle = page.getByRole("switch", { name: "Show Acme CRM in the connect modal" });
  await toggle.focus();
  await page.keyboard.press("Space");
  await page.getByText("Acme CRM now shows in the connect modal.").waitFor();
  assert.equal(await toggle.getAttribute("aria-checked"), "true");
  assert.deepEqual(await authkitPlatforms(), ["acme"]);
  // Undo from the toast, then on again.
  await page.getByRole("button", { name: "Undo" }).click();
  await page.getByText("Acme CRM no longer shows in the connect modal.").waitFor();
  assert.deepEqual(await authkitPlatforms(), []);
  await toggle.click();
  await page.getByText("Acme CRM now shows in the connect modal.").waitFor();
  await page.getByLabel("Search").fill("");
  await capture("integrations");

  // The customer's page opens the modal: Acme CRM is there.
  const host = await owner.newPage();
  const options = {
    baseUrl: `${world.keyway.baseUrl}/authkit`,
    token: { url: `${world.host.url}/authkit-token`, headers: { "x-user-id": "user_modal" } },
  };
  await host.goto(`${world.host.url}/?options=${encodeURIComponent(JSON.stringify(options))}`);
  await host.click("#connect");
  const frame = host.frameLocator("#event-link");
  await frame.getByRole("button", { name: /Acme CRM/ }).waitFor();
  assert.equal(await frame.getByRole("button", { name: /Acme Cloud/ }).count(), 0, "only what is switched on");
  await host.close();
});

test("an OAuth app: redirect URI to copy, the secret write-only, a masked hint in the page source", async () => {
  await page.goto(`${root}/integrations/acme-oauth`);
  assert.equal(await page.locator("#redirect-uri").innerText(), `${world.keyway.baseUrl}/connections/oauth/callback`);
  const secret = "keyway-test-secret-9z9z";
  await page.getByLabel("2. Client ID").fill("keyway-test-client");
  await page.getByLabel("Client secret").fill(secret);
  await page.getByLabel("Scopes").fill("read write");
  await page.getByRole("button", { name: "Save OAuth app" }).click();
  await page.getByText("OAuth app saved.").waitFor();
  const html = await page.content();
  assert.ok(!html.includes(secret), "the secret is not in the page source");
  assert.match(await page.locator("#client-secret-help").innerText(), /••••••••9z9z/);
  assert.equal(await page.getByLabel("Client secret").inputValue(), "");
  await capture("integration-oauth");
  // A bad client id is explained beside the field.
  await page.getByLabel("2. Client ID").fill(" ");
  await page.evaluate(() => document.getElementById("client-id").removeAttribute("required"));
  await page.getByRole("button", { name: "Save OAuth app" }).click();
  assert.match(await page.locator("#client-id-error").innerText(), /clientId must be 1 to 512 characters/);
  assert.equal(await page.getByLabel("2. Client ID").getAttribute("aria-invalid"), "true");
});

test(`one connection among ${SEEDED.toLocaleString("en")}: found by identity, tags edited, deleted`, async () => {
  await page.goto(`${root}/connections`);
  await page.getByText("No connections yet").waitFor();
  await capture("connections-empty");
  await seed(SEEDED);
  await page.goto(`${root}/connections`);
  assert.match(await page.getByRole("heading", { level: 2 }).first().innerText(), /10,000\+? connections/);
  await capture("connections");

  await page.getByLabel("Identity", { exact: true }).fill("user_0424");
  await page.getByLabel("Match").selectOption("prefix");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/identity=user_0424/);
  const links = page.locator("td.primary a");
  assert.deepEqual(await links.allInnerTexts(), Array.from({ length: 10 }, (_, i) => `user_0424${i}`));
  await page.getByLabel("Match").selectOption("exact");
  await page.getByLabel("Identity", { exact: true }).fill("user_04242");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/match=exact/);
  assert.deepEqual(await links.allInnerTexts(), ["user_04242"]);
  await links.first().click();
  await page.getByRole("heading", { name: "Acme CRM · user_04242" }).waitFor();
  await capture("connection");

  await page.getByLabel("Tags, separated by commas").fill("vip, renewal");
  await page.getByRole("button", { name: "Save tags" }).click();
  await page.getByText("Tags saved.").waitFor();
  const [row] = await vaultRows("?identity=user_04242");
  assert.deepEqual(row.tags, ["vip", "renewal"]);

  await page.getByRole("button", { name: "Test" }).click();
  await page.getByText(/Test passed: GET \/me answered 200/).waitFor();

  await page.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog");
  assert.match(await dialog.innerText(), /user_04242's Acme CRM connection will stop working/);
  await capture("connection-delete-dialog");
  await dialog.getByRole("button", { name: "Delete connection" }).click();
  await page.getByText(/Deleted user_04242's Acme CRM connection/).waitFor();
  assert.deepEqual(await vaultRows("?identity=user_04242"), []);
  assert.equal((await vaultRows("?identity=user_04243")).length, 1, "only that one");
});

test("a key: created and shown once, used, revoked, refused; the check box", async () => {
  await page.goto(`${root}/keys`);
  await page.getByLabel("Name (optional)").fill("Billing backend");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByRole("heading", { name: /Your new test key: Billing backend/ }).waitFor();
  const key = (await page.locator("#new-key").innerText()).trim();
  assert.match(key, /^sk_test_[A-Za-z0-9]{40}$/);
  assert.match(await page.getByRole("alert").innerText(), /shown only this once/);
  await capture("key-created");
  assert.equal((await call(world.keyway.baseUrl, "GET", "/v1/vault/connections", { secret: key })).status, 200);
  await page.getByRole("link", { name: "I've saved it" }).click();
  assert.ok(!(await page.content()).includes(key), "never shown again");
  await capture("keys");

  await page.getByLabel("Secret key").fill(key);
  await page.getByRole("button", { name: "Check" }).click();
  assert.match(await page.locator("#check-result").innerText(), /Valid: a test key of project "default"/);
  await page.screenshot({ path: join(screenshotDir, "dashboard-keys-checked-light-desktop.png"), scale: "css" });

  const row = page.locator("tr", { hasText: "Billing backend" });
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
  await page.getByText(/Revoked sk_test_/).waitFor();
  assert.equal((await call(world.keyway.baseUrl, "GET", "/v1/vault/connections", { secret: key })).status, 401);
  await page.getByLabel("Secret key").fill(key);
  await page.getByRole("button", { name: "Check" }).click();
  assert.match(await page.locator("#check-result").innerText(), /Not a valid key/);
});

test("requests, actions, settings, try the modal and your account render and work", async () => {
  const connection = (await vaultRows("?identity=user_00007"))[0];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${world.keyway.baseUrl}/v1/passthrough/me`, {
      headers: { "x-pica-secret": world.keyway.testKey, "x-pica-connection-key": connection.key },
    });
    assert.equal(res.status, 200);
  }
  await page.waitForTimeout(200); // the request log is written in batches
  await page.goto(`${root}/requests`);
  await page.locator("td", { hasText: "/me" }).first().waitFor();
  await capture("requests");
  await page.locator("td.primary a").first().click();
  await page.getByText("Request id").waitFor();
  await capture("request");

  await page.goto(`${root}/actions`);
  await capture("actions");
  await page.locator("td.primary a").first().click();
  await page.getByRole("heading", { name: "Call it" }).waitFor();
  assert.match(await page.locator("pre.code").first().innerText(), /x-pica-action-id: conn_mod_def::/);
  await capture("action");

  await page.goto(`${root}/settings`);
  await page.getByLabel("Company name").fill("Northwind");
  await page.getByLabel("Theme").selectOption("dark");
  await page.getByRole("button", { name: "Save branding" }).click();
  await page.getByText("Branding saved").waitFor();
  await capture("settings");

  await page.goto(`${root}/try`);
  await capture("try");
  await page.getByLabel("Identity", { exact: true }).fill("dashboard-tryout");
  await page.getByRole("button", { name: "Open the connect modal" }).click();
  const frame = page.frameLocator("#event-link");
  await frame.getByRole("button", { name: /Acme CRM/ }).waitFor();
  assert.match(await frame.locator(".host-name").innerText(), /Northwind/, "the project's branding");
  await page.screenshot({ path: join(screenshotDir, "dashboard-try-open-light-desktop.png"), scale: "css" });
  await frame.getByRole("button", { name: "Close" }).click();
  await page.getByText("The modal was closed.").waitFor();

  await page.goto(`${root}/account`);
  await capture("account");
});

test("a viewer sees everything and can change nothing", async () => {
  await page.goto(`${root}/accounts`);
  await page.getByLabel("Email").fill("viewer@example.com");
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Create account" }).click();
  const link = (await page.locator("#one-time-link").innerText()).trim();
  await capture("account-link");
  await page.goto(`${root}/accounts`);
  await capture("accounts");

  const viewer = await world.browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const tab = await viewer.newPage();
    await tab.goto(link);
    assert.equal(await tab.getByLabel("Account").inputValue(), "viewer@example.com");
    await tab.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await tab.getByLabel("Password again").fill(PASSWORD);
    await tab.getByRole("button", { name: "Save password and sign in" }).click();
    await tab.getByRole("heading", { name: "Integrations", level: 1 }).waitFor();
    for (const section of ["integrations", "connections", "keys", "settings", "audit", "requests", "actions"]) {
      const res = await tab.goto(`${root}/${section}`);
      assert.equal(res.status(), 200, section);
    }
    await tab.goto(`${root}/integrations`);
    const toggle = tab.getByRole("switch", { name: "Show Acme CRM in the connect modal" });
    assert.ok(await toggle.isDisabled(), "the switch is disabled for a viewer");
    // A hand-made form post with the viewer's valid CSRF token is refused by the server.
    const status = await tab.evaluate(async () => {
      const csrf = document.querySelector('meta[name="csrf-token"]').content;
      const form = document.querySelector("form[data-switch-form]");
      const res = await fetch(form.action, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf, enabled: "false" }).toString(),
      });
      return res.status;
    });
    assert.equal(status, 403);
    assert.deepEqual(await authkitPlatforms(), ["acme"], "nothing changed");
    await tab.goto(`${root}/keys`);
    assert.equal(await tab.getByRole("button", { name: "Create key" }).count(), 0);
    assert.equal(await tab.getByRole("button", { name: "Revoke" }).count(), 0);
    assert.equal((await tab.goto(`${root}/accounts`)).status(), 403);
  } finally {
    await viewer.close();
  }
});

test("the audit trail lists what this test did, with who, and no secret", async () => {
  await page.goto(`${root}/audit`);
  const text = await page.locator("main").innerText();
  for (const entry of [
    "Added the owner account owner@example.com",
    "owner@example.com signed in",
    "Showed acme in the connect modal",
    "Hid acme from the connect modal",
    "Configured the OAuth app of acme-oauth",
    "Deleted user_04242's acme connection",
    "Created secret key sk_test_",
    "Revoked secret key sk_test_",
    "Changed the connect modal's branding",
    "Added the viewer account viewer@example.com",
    "viewer@example.com chose a password",
  ]) {
    assert.ok(text.includes(entry), `audit is missing: ${entry}`);
  }
  assert.ok(!(await page.content()).includes("keyway-test-secret-9z9z"));
  await capture("audit");
});

test("with a keyboard alone: skip link, focus rings, the menu at 360 px", async () => {
  await page.goto(`${root}/connections`);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  assert.ok(await skip.evaluate((el) => el === document.activeElement));
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => location.hash), "#main");
  await page.setViewportSize({ width: 360, height: 760 });
  const menu = page.getByRole("button", { name: "Open the menu" });
  await menu.click();
  assert.equal(await menu.getAttribute("aria-expanded"), "true");
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(screenshotDir, "dashboard-menu-light-360.png"), scale: "css" });
  assert.equal(await page.evaluate(() => document.activeElement.closest("#sidebar") !== null), true, "focus moves into the menu");
  await page.keyboard.press("Escape");
  assert.equal(await menu.getAttribute("aria-expanded"), "false");
  await page.setViewportSize({ width: 1280, height: 860 });
});
