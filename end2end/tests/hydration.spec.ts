import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn } from './helpers';

test('the console hydrates: controls respond without a page load', async ({ page }, info) => {
  test.skip(info.project.name === 'ssr', 'needs JavaScript');
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto('/queues/new?project=shop');
  const preview = page.getByTestId('topic-preview');
  await expect(preview).toHaveText('shop.');
  // Typing updates the preview only once the wasm has hydrated the form; retry until it has.
  await expect(async () => {
    await page.fill('input[name="form[name]"]', '');
    await page.locator('input[name="form[name]"]').pressSequentially('live');
    await expect(preview).toHaveText('shop.live', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await page.getByTestId('user-menu').click();
  await expect(page.locator('.user-menu.open')).toBeVisible();
  expect(errors).toEqual([]);
});
