import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn, unique } from './helpers';

test('a personal token is shown once, lists its expiry and stops working once revoked', async ({ page }, info) => {
  const name = unique('ci', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto('/tokens');
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="days"]', '7');
  await page.click('button:has-text("Create token")');
  const shown = page.getByTestId('new-token').locator('code');
  await expect(shown).toHaveText(/^wsp_/);
  const token = (await shown.textContent())!.trim();
  const row = page.getByTestId('tokens').locator('tr', { hasText: name });
  await expect(row).toContainText('not yet');

  const me = () => page.request.get('/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
  expect((await me()).status()).toBe(200);
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');
  expect((await me()).status()).toBe(401);
});

test('an admin disables a user, who can no longer sign in', async ({ page, browser }, info) => {
  const user = unique('leaver', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  const made = await page.request.post('/api/v1/users', { data: { username: user, password: 'leaver-password', role: 'developer' } });
  expect(made.ok()).toBeTruthy();
  await page.goto('/users');
  const row = page.getByTestId('users').locator('tr', { hasText: user });
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('disabled');

  const base = new URL(page.url()).origin;
  const other = await browser.newPage();
  await other.goto(`${base}/login`);
  await other.fill('input[name="username"]', user);
  await other.fill('input[name="password"]', 'leaver-password');
  await other.click('button[type="submit"]');
  await expect(other).toHaveURL(/\/login/);
  await other.close();
});
