// Logs in from Swagger UI the way a person does: Authorize → the OAuth2 form → Authorize, the
// identity provider's sign-in pages in the popup, back to the docs; then Execute on
// GET /api/private-scoped (200 with the user's claims), a reload (still authorized), and Logout
// in the dialog (401 again). Ends with a screenshot of the Authorize dialog.
//
// usage: node swagger_login.mjs <service base URL> <screenshot path> <provider: dev | oidc-provider> <expected sub>
// env:   CHROMIUM (default /usr/bin/chromium)

import { check, checkPageHeaders, execute, launch, watchPolicy } from "./swagger.mjs";

const [base, screenshot, provider, expectedSub] = process.argv.slice(2);
if (!base || !screenshot || !["dev", "oidc-provider"].includes(provider) || !expectedSub) {
  console.error("usage: node swagger_login.mjs <service base URL> <screenshot path> <dev | oidc-provider> <expected sub>");
  process.exit(2);
}


/// The sign-in pages of each provider, in the popup.
const signIn = {
  // The development issuer: a sub and the scopes, prefilled.
  dev: async (popup) => {
    checkPageHeaders(await popup.reload(), "the sign-in page");
    await popup.locator("input[name=sub]").fill(expectedSub);
    check(await popup.locator("input[name=granted][value='read:messages']").isChecked(), "the sign-in page offers read:messages, checked");
    await popup.locator("button[type=submit]").click();
  },
  // oidc-provider's development interactions: a login form, then a consent form.
  "oidc-provider": async (popup) => {
    await popup.locator("input[name=login]").fill(expectedSub);
    await popup.locator("input[name=password]").fill("any password");
    await popup.locator("button[type=submit]").click();
    await popup.locator("button[type=submit]", { hasText: /continue/i }).click();
  },
};

async function openDialog(page) {
  await page.locator("button.authorize").first().click();
  const oauth = page.locator(".modal-ux .auth-container").filter({ hasText: "OAuth2" });
  await oauth.waitFor();
  return oauth;
}


const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const violations = watchPolicy(context, base);
  checkPageHeaders(await page.goto(`${base}/docs`), "/docs");
  await page.locator("#operations-messages-getPrivateScoped").waitFor();

  let oauth = await openDialog(page);
  check(await oauth.locator("text=authorizationCode").count() > 0, "the Authorize dialog offers the authorization code flow");
  const clientId = await oauth.locator("input[data-name=clientId]").inputValue();
  check(clientId !== "", `the client id is filled in (${clientId})`);
  // A public client with PKCE: the dialog asks for no client secret.
  check(await oauth.locator("input[data-name=clientSecret]").count() === 1, "Swagger UI still renders its client_secret input");
  check(!(await oauth.locator("input[data-name=clientSecret]").isVisible()), "the client_secret field is hidden");
  await oauth.locator(".auth-btn-wrapper").scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, fullPage: false });
  const [popup] = await Promise.all([page.waitForEvent("popup"), oauth.locator("button.authorize").click()]);
  await popup.waitForLoadState();
  // Both waits start before the sign-in: the receiver page may run and close the popup before
  // the sign-in's last step returns, and a close that happened before the wait is never seen.
  const closed = popup.waitForEvent("close");
  const receiver = popup.waitForResponse((response) => response.url().includes("/docs/oauth-receiver.html"));
  await signIn[provider](popup);
  checkPageHeaders(await receiver, "the OAuth receiver page");
  await closed;
  await oauth.locator("button", { hasText: "Logout" }).waitFor();
  check(true, `signed in at the ${provider} provider; the dialog offers Logout`);
  await page.locator(".modal-ux button.btn-done").first().click();

  const granted = await execute(page, "getPrivateScoped");
  check(granted.status === "200", `after the login GET /api/private-scoped shows ${granted.status}`);
  check(granted.body.includes(`"sub": "${expectedSub}"`), "with the signed-in user's claims");

  await page.reload();
  await page.locator("#operations-messages-getPrivateScoped").waitFor();
  const afterReload = await execute(page, "getPrivateScoped");
  check(afterReload.status === "200", `after a reload GET /api/private-scoped still shows ${afterReload.status}`);

  oauth = await openDialog(page);
  await oauth.locator("button", { hasText: "Logout" }).click();
  await page.locator(".modal-ux button.btn-done").first().click();
  const loggedOut = await execute(page, "getPrivateScoped");
  check(loggedOut.status === "401", `after Logout GET /api/private-scoped shows ${loggedOut.status}`);
  check(violations.length === 0, `the docs and the login work under their Content-Security-Policy: ${violations.length} violations ${violations.join("; ")}`);
} finally {
  await browser.close();
}
