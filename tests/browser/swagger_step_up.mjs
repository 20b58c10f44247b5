// Step-up authentication (RFC 9470) from Swagger UI, as a person does it: sign in at the
// development issuer with a password, call GET /api/private-mfa and get 401
// insufficient_user_authentication (its challenge naming acr_values and max_age), sign in again
// "with multi-factor authentication", call it again and get 200 with the token's acr. Ends with a
// screenshot of the sign-in page offering the multi-factor sign-in.
//
// usage: node swagger_step_up.mjs <service base URL> <screenshot path>
// env:   CHROMIUM (default /usr/bin/chromium)

import { check, execute, launch, watchPolicy } from "./swagger.mjs";

const MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error("usage: node swagger_step_up.mjs <service base URL> <screenshot path>");
  process.exit(2);
}

/// Signs in from the Authorize dialog, choosing the sign-in method `acr` ("" for a password).
async function signIn(page, acr, shot) {
  await page.locator("button.authorize").first().click();
  const oauth = page.locator(".modal-ux .auth-container").filter({ hasText: "OAuth2" });
  await oauth.waitFor();
  const logout = oauth.locator("button", { hasText: "Logout" });
  if (await logout.count()) await logout.click();
  const [popup] = await Promise.all([page.waitForEvent("popup"), oauth.locator("button.authorize").click()]);
  await popup.waitForLoadState();
  const closed = popup.waitForEvent("close");
  const method = popup.locator(`input[name=acr][value='${acr}']`);
  check(await method.count() === 1, `the sign-in page offers the method ${acr || "password"}`);
  await method.check();
  if (shot) await popup.screenshot({ path: shot, fullPage: true });
  await popup.locator("button[type=submit]").click();
  await closed;
  await oauth.locator("button", { hasText: "Logout" }).waitFor();
  await page.locator(".modal-ux button.btn-done").first().click();
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const violations = watchPolicy(context, base);
  await page.goto(`${base}/docs`);
  await page.locator("#operations-messages-getPrivateMfa").waitFor();

  await signIn(page, "", null);
  const refused = await execute(page, "getPrivateMfa");
  check(refused.status === "401", `signed in with a password, GET /api/private-mfa shows ${refused.status}`);
  check(refused.body.includes("insufficient_user_authentication"), "with insufficient_user_authentication");
  const challenge = await page
    .locator("#operations-messages-getPrivateMfa .live-responses-table .response")
    .first()
    .innerText();
  check(challenge.includes(`acr_values="${MFA}"`) && challenge.includes(`max_age="600"`), "the challenge names acr_values and max_age");

  await signIn(page, MFA, screenshot);
  const granted = await execute(page, "getPrivateMfa");
  check(granted.status === "200", `signed in with multi-factor authentication, GET /api/private-mfa shows ${granted.status}`);
  check(granted.body.includes(`"acr": "${MFA}"`), "with the token's acr");
  check(violations.length === 0, `the step-up works under the Content-Security-Policy: ${violations.length} violations ${violations.join("; ")}`);
} finally {
  await browser.close();
}
