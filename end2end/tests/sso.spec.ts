import { test, expect, Page } from '@playwright/test';
import { unique } from './helpers';

// The test command starts a real OpenID provider (npm's oidc-provider, end2end/oidc/provider.mjs)
// beside the console: nora is in data-developers, data-growth-owners and data-ads-members;
// omar only in data-viewers, which no mapping names.

/** Signs in from the console's "Sign in with Test ID" link at the provider's own login page. */
async function signInWithProvider(page: Page, user: string) {
  await page.goto('/login');
  await page.getByRole('link', { name: 'Sign in with Test ID' }).click();
  await expect(page).toHaveURL(/:\d+\/interaction\//);
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  await expect(page.getByRole('heading', { name: 'Data map' })).toBeVisible();
}

test('a provider user signs in at its own page with the role and projects of their groups', async ({ page }) => {
  await signInWithProvider(page, 'nora');
  await expect(page.getByText('nora · developer')).toBeVisible();
  await page.goto('/projects/growth');
  await expect(page.locator('dl.facts dt:has-text("Owners") + dd')).toContainText('nora');
  await page.goto('/projects/ads');
  await expect(page.locator('dl.facts dt:has-text("Members") + dd')).toContainText('nora');
  await expect(page.locator('dl.facts dt:has-text("Owners") + dd')).not.toContainText('nora');
});

test('a user whose groups give no writer role is refused a writer\'s action', async ({ page }, info) => {
  await signInWithProvider(page, 'omar');
  await expect(page.getByText('omar · viewer')).toBeVisible();
  const name = unique('sso', info);
  await page.goto('/projects/new');
  await page.fill('input[name="name"]', name);
  await page.locator('main form button[type="submit"]').click();
  await expect(page.getByRole('alert')).toContainText('can only read');
  await page.goto(`/projects/${name}`);
  await expect(page.getByRole('heading', { name })).toHaveCount(0);
});
