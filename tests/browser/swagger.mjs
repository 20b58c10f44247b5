// What the Swagger UI sessions share: Debian's Chromium, a check that says what it checked, and
// Try it out → Execute on an operation.

import { chromium } from "playwright-core";

export function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok - ${message}`);
}

/// Debian's Chromium, headless, with nothing reaching out to the network by itself.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
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

/// Records every Content-Security-Policy violation reported by the service's pages (at `base`)
/// in `context`: the docs and their login popup. The list fills as the session goes on.
export function watchPolicy(context, base) {
  const violations = [];
  const watch = (page) =>
    page.on("console", (message) => {
      if (message.text().includes("Content Security Policy") && page.url().startsWith(base)) {
        violations.push(`${page.url()}: ${message.text()}`);
      }
    });
  context.pages().forEach(watch);
  context.on("page", watch);
  return violations;
}

/// Checks the headers that keep a page of the service to itself: its Content-Security-Policy
/// (inline scripts by their hashes only), no framing, no sniffing, no referrer.
export function checkPageHeaders(response, what) {
  const headers = response.headers();
  const policy = headers["content-security-policy"] || "";
  check(policy.startsWith("default-src 'none'") && !policy.includes("unsafe-eval"), `${what} has a Content-Security-Policy`);
  check(!/script-src[^;]*unsafe-inline/.test(policy), `${what} allows no inline script but its own`);
  check(headers["x-frame-options"] === "DENY", `${what} may not be framed`);
  check(headers["x-content-type-options"] === "nosniff" && headers["referrer-policy"] === "no-referrer", `${what} is not sniffed and sends no referrer`);
}

/// Executes the operation `operation` (its operationId, tag messages) and returns the status and
/// body Swagger UI shows for this call (an earlier call's answer is cleared first).
export async function execute(page, operation) {
  const block = page.locator(`#operations-messages-${operation}`);
  if (!(await block.locator(".opblock-body").count())) await block.locator(".opblock-summary").first().click();
  const tryOut = block.locator("button.try-out__btn");
  if ((await tryOut.textContent()).includes("Try it out")) await tryOut.click();
  const clear = block.locator("button.btn-clear");
  if (await clear.count()) await clear.click();
  await block.locator(".live-responses-table").waitFor({ state: "detached" });
  await block.locator("button.execute").click();
  const status = block.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const body = await block.locator(".live-responses-table .response .response-col_description").first().innerText();
  return { status: (await status.innerText()).trim(), body };
}
