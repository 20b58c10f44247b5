// Drives Swagger UI the way a person does: Authorize with a development token, Try it out,
// Execute; then a token without read:messages on the scoped route; then a reload, after which
// the authorization must still be there. Ends with a screenshot.
//
// usage: node swagger_ui.mjs <service base URL> <screenshot path>
// env:   CHROMIUM (default /usr/bin/chromium)

import { check, checkPageHeaders, execute, launch, watchPolicy } from "./swagger.mjs";

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error("usage: node swagger_ui.mjs <service base URL> <screenshot path>");
  process.exit(2);
}

async function devToken(scope) {
  const response = await fetch(`${base}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ scope }),
  });
  if (!response.ok) throw new Error(`POST /dev/token answered ${response.status}`);
  return (await response.json()).access_token;
}


async function authorize(page, token) {
  await page.locator("button.authorize").first().click();
  // The page's spec leaves out the DPoP scheme, which Swagger UI cannot send: the dialog offers
  // the bearer form, and no box saying a scheme is unsupported.
  const bearer = page.locator(".modal-ux .auth-container").filter({ hasText: "BearerAuth" });
  await bearer.locator(".auth-btn-wrapper").waitFor();
  const dialog = await page.locator(".modal-ux").innerText();
  check(!/dpop|unsupported|unknown security/i.test(dialog), `the Authorize dialog offers no DPoP form: ${JSON.stringify(dialog)}`);
  const logout = bearer.locator("button", { hasText: "Logout" });
  if (await logout.count()) await logout.click();
  await bearer.locator("input").first().fill(token);
  await bearer.locator(".auth-btn-wrapper button.authorize").click();
  await bearer.locator("button.btn-done").click();
}


const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  page.setDefaultTimeout(15000);
  const violations = watchPolicy(page.context(), base);
  checkPageHeaders(await page.goto(`${base}/docs`), "/docs");
  for (const operation of ["getPublic", "getPrivate", "getPrivateScoped"]) {
    await page.locator(`#operations-messages-${operation}`).waitFor();
  }
  check(true, "Swagger UI lists /api/public, /api/private and /api/private-scoped");

  const unauthorized = await execute(page, "getPrivate");
  check(unauthorized.status === "401", `without a token GET /api/private shows ${unauthorized.status}`);

  await authorize(page, await devToken("read:messages"));
  const granted = await execute(page, "getPrivate");
  check(granted.status === "200", `after Authorize GET /api/private shows ${granted.status}`);
  check(granted.body.includes("Access granted") && granted.body.includes("dev-user"), "the page shows the token's claims");

  await authorize(page, await devToken("write:messages"));
  const denied = await execute(page, "getPrivateScoped");
  check(denied.status === "403", `a token without read:messages on GET /api/private-scoped shows ${denied.status}`);
  check(denied.body.includes("insufficient_scope"), "the page shows insufficient_scope");

  await page.reload();
  await page.locator("#operations-messages-getPrivate").waitFor();
  const afterReload = await execute(page, "getPrivate");
  check(afterReload.status === "200", `after a reload GET /api/private still shows ${afterReload.status}`);

  check(violations.length === 0, `Swagger UI works under its Content-Security-Policy: ${violations.length} violations ${violations.join("; ")}`);

  await page.locator("#operations-messages-getPrivate").scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, fullPage: false });
  console.log(`screenshot: ${screenshot}`);
} finally {
  await browser.close();
}
