/**
 * Opens a page in headless Chromium (Debian's, through npm playwright-core) and prints what it
 * saw as one JSON line: console errors, every request, and the drawn marks of each inline SVG;
 * saves a screenshot. A separate process, as Playwright reads /proc, which Deno allows only with
 * --allow-all (the test suite runs with narrower permissions).
 *
 *     deno run -A tests/reports/_browser.ts PAGE.html SCREENSHOT.png
 *
 * @module
 */
import { chromium } from "playwright-core";

const [file, screenshot] = Deno.args;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const consoleErrors: string[] = [], requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`file://${file}`, { waitUntil: "load" });
  const svgMarks = await page.locator("svg").evaluateAll((svgs) =>
    svgs.map((s) => s.querySelectorAll("path, line, rect, text").length)
  );
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ consoleErrors, requests, svgMarks }));
} finally {
  await browser.close();
}
