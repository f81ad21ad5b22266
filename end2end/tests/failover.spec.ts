import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn, unique } from './helpers';

test('fail a queue over to its backup with a confirmation, see the history, and fail back', async ({ page }, info) => {
  const project = unique('failover', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  expect((await page.request.post('/api/v1/projects', { data: { name: project } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/v1/queues', {
    data: { project, name: 'payments', primary_cluster: 'kafka-bj-1', backup_cluster: 'kafka-sh-1' },
  })).ok()).toBeTruthy();

  await page.goto(`/queues/${project}/payments`);
  await expect(page.getByTestId('active-cluster')).toHaveText('kafka-bj-1');
  const form = page.getByTestId('failover-form');
  await form.locator('input[name="reason"]').fill('drill');
  // The button does nothing until the switch is confirmed.
  await form.getByRole('button', { name: 'Fail over to the backup' }).click();
  await expect(page.getByTestId('active-cluster')).toHaveText('kafka-bj-1');
  await form.locator('input[name="confirm"]').check();
  await form.getByRole('button', { name: 'Fail over to the backup' }).click();
  await expect(page.getByTestId('active-cluster')).toHaveText('kafka-sh-1');
  await expect(page.getByTestId('switch-history')).toContainText('failover');
  await expect(page.getByTestId('switch-history')).toContainText('drill');

  const back = page.getByTestId('failover-form');
  await back.locator('input[name="confirm"]').check();
  await back.getByRole('button', { name: 'Fail back to the primary' }).click();
  await expect(page.getByTestId('active-cluster')).toHaveText('kafka-bj-1');
  await expect(page.getByTestId('switch-history').locator('tbody tr')).toHaveCount(2);
});
