// Ad-hoc screenshots while developing (not part of the suite): node shot.mjs URL... (cookies from a sign-in)
import { chromium } from "playwright-core";
const [,, base, setup, ...paths] = process.argv;
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
const page = await ctx.newPage();
page.on("console", (m) => console.log("console:", m.type(), m.text()));
page.on("pageerror", (e) => console.log("pageerror:", e.message));
if (setup && setup !== "-") {
  await page.goto(setup);
  await page.screenshot({ path: "/tmp/shots/setup.png" });
  await page.fill("#email", "owner@example.com");
  await page.fill("#password", "correct horse battery staple");
  await page.fill("#confirm", "correct horse battery staple");
  await page.click("button[type=submit]");
  await page.waitForLoadState();
} else {
  await page.goto(base + "/dashboard/sign-in");
  await page.fill("#email", "owner@example.com");
  await page.fill("#password", "correct horse battery staple");
  await page.click("button[type=submit]");
  await page.waitForLoadState();
}
console.log("at", page.url());
const root = page.url().replace(/\/integrations.*$/, "");
for (const p of paths) {
  const name = p.replace(/[^a-z0-9]+/gi, "_");
  await page.goto(root + "/" + p);
  for (const theme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: theme });
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.waitForTimeout(400);
    await page.screenshot({ path: `/tmp/shots/${name}-${theme}-desktop.png`, fullPage: process.env.FULL === "1" });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.waitForTimeout(400);
    await page.screenshot({ path: `/tmp/shots/${name}-${theme}-360.png`, fullPage: process.env.FULL === "1" });
  }
}
await browser.close();
