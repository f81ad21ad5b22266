import { expect, Page, TestInfo } from '@playwright/test';

export const ADMIN_PASSWORD = process.env.WATERSHED_ADMIN_PASSWORD ?? 'e2e-admin-password';

/** A name unique to this run and project, valid as a slug. */
export function unique(prefix: string, info: TestInfo): string {
  return `${prefix}-${info.project.name}-${Date.now().toString(36)}`;
}

export async function signIn(page: Page, username: string, password: string) {
  await page.goto('/login');
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: 'Data map' })).toBeVisible();
}

