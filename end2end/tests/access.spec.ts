import { test, expect, Page } from '@playwright/test';
import { ADMIN_PASSWORD, signIn, unique } from './helpers';

async function api(page: Page, path: string, data: object) {
  const r = await page.request.post(path, { data });
  expect(r.ok(), `${path}: ${await r.text()}`).toBeTruthy();
  return r.json();
}

test('a developer asks for access, an approver approves from the inbox, the grant shows on the application', async ({ page }, info) => {
  const dev = unique('dev', info);
  const approver = unique('appr', info);
  const owned = unique('sales', info);
  const lab = unique('lab', info);

  await signIn(page, 'admin', ADMIN_PASSWORD);
  await api(page, '/api/v1/users', { username: dev, password: 'dev-password', role: 'developer' });
  await api(page, '/api/v1/users', { username: approver, password: 'approver-password', role: 'approver' });
  await api(page, '/api/v1/projects', { name: owned });
  await api(page, '/api/v1/queues', { project: owned, name: 'deals', primary_cluster: 'kafka-bj-1' });
  await page.context().clearCookies();

  await signIn(page, dev, 'dev-password');
  await api(page, '/api/v1/projects', { name: lab });
  // The application is registered from its project's page.
  await page.goto(`/projects/${lab}`);
  await page.fill('input[name="name"]', 'forecaster');
  await page.fill('input[name="description"]', 'Sales forecasts');
  await page.getByRole('button', { name: 'Register application' }).click();
  await expect(page).toHaveURL(new RegExp(`/applications/${lab}/forecaster$`));
  await page.goto(`/queues/${owned}/deals`);
  await page.selectOption('select[name="application"]', `${lab}/forecaster`);
  await page.selectOption('select[name="permission"]', 'consume');
  await page.fill('textarea[name="reason"]', 'Forecasts need the deal stream');
  await page.click('button:has-text("Request access")');
  await expect(page).toHaveURL(/\/requests\/\d+$/);
  const id = page.url().split('/').pop();
  await expect(page.getByTestId('request-status')).toHaveText('pending');
  // The requester decides nothing: no button, and a forged call is refused by the server.
  await expect(page.getByRole('button', { name: 'Approve', exact: true })).toHaveCount(0);
  const forged = await page.request.post(`/api/v1/requests/${id}/decision`, { data: { decision: 'approve' } });
  expect(forged.status()).toBe(403);
  await page.context().clearCookies();

  await signIn(page, approver, 'approver-password');
  await expect(page.getByTestId('inbox-badge')).toBeVisible();
  await page.goto('/requests');
  const row = page.getByTestId('inbox').locator('a', { hasText: `#${id}` });
  await expect(row).toHaveCount(1);
  await row.click();
  await page.fill('textarea[name="comment"]', 'ok for forecasting');
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await expect(page.getByTestId('request-status')).toHaveText('approved');
  await expect(page.locator('ol.timeline')).toContainText('granted');

  await page.goto(`/applications/${lab}/forecaster`);
  await expect(page.getByTestId('grants')).toContainText(`${owned}/deals`);
  await expect(page.getByTestId('grants')).toContainText('consume');
  await page.context().clearCookies();

  // The requester is told, issues a token for the application, and sees the access on the map.
  await signIn(page, dev, 'dev-password');
  await expect(page.getByTestId('notice-badge')).toBeVisible();
  await page.goto('/notifications');
  await expect(page.getByTestId('notifications')).toContainText('approved and granted');
  await page.goto(`/applications/${lab}/forecaster`);
  await page.getByRole('button', { name: 'Issue a token' }).click();
  await expect(page.getByTestId('new-token')).toContainText('wsa_');
  await page.reload();
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await expect(page.getByTestId('tokens')).toContainText('live');
  await expect(async () => {
    await page.goto(`/?q=project:${owned}`);
    await expect(page.getByTestId('hit-access')).toHaveText('read', { timeout: 1000 });
  }).toPass({ timeout: 10000 });
});
