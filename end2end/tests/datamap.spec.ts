import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn } from './helpers';

test('find a queue by part of its name, narrow by a facet, open the hit', async ({ page }, info) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  const box = page.getByTestId('header-search');
  if (info.project.name === 'hydrated') {
    // Results appear as you type, before any form is submitted.
    await expect(async () => {
      await box.fill('');
      await box.pressSequentially('refun');
      await expect(page.locator('.suggestions.open li').first()).toContainText('refunds', { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
  } else {
    await box.fill('refun');
  }
  await box.press('Enter');
  await expect(page).toHaveURL(/\?q=refun/);
  await expect(page.locator('.hit').first()).toContainText('refunds');
  await expect(page.locator('.hit mark').first()).toHaveText(/refun/i);

  const facet = page.locator('.facets a[data-facet="project"]').first();
  const project = (await facet.locator('span').first().textContent())!.trim();
  await facet.click();
  await expect(page).toHaveURL(new RegExp(`project=${project}`));
  const hits = page.locator('.hit .project');
  await expect(hits.first()).toHaveText(project);
  expect(await hits.allTextContents()).toEqual(Array(await hits.count()).fill(project));

  const first = page.locator('.hit a.queue-link').first();
  const href = await first.getAttribute('href');
  await first.click();
  await expect(page).toHaveURL(new RegExp(`${href}$`));
});

test('the search box is driven by the keyboard', async ({ page }, info) => {
  test.skip(info.project.name === 'ssr', 'needs JavaScript');
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.locator('h1').click();
  await page.keyboard.press('/');
  const box = page.getByTestId('header-search');
  await expect(box).toBeFocused();
  await expect(async () => {
    await box.fill('');
    await box.pressSequentially('shipm');
    await expect(page.locator('.suggestions.open li').first()).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  const target = await page.locator('.suggestions li a').nth(1).getAttribute('href');
  await box.press('ArrowDown');
  await box.press('ArrowDown');
  await expect(page.locator('.suggestions li').nth(1)).toHaveClass(/active/);
  await box.press('Enter');
  await expect(page).toHaveURL(new RegExp(`${target}$`));
});
