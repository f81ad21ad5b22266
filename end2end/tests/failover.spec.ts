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

test('a cluster page says what its brokers answer, and a queue page where its topic stands', async ({ page }, info) => {
  const project = unique('health', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  expect((await page.request.post('/api/v1/projects', { data: { name: project } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/v1/queues', {
    data: { project, name: 'events', primary_cluster: 'kafka-bj-1', backup_cluster: 'kafka-sh-1' },
  })).ok()).toBeTruthy();
  // The demo's clusters have no brokers, and the page says so plainly (no DNS error).
  await page.goto('/clusters/kafka-bj-1');
  await expect(page.getByTestId('cluster-health')).toBeVisible();
  await expect(page.getByTestId('cluster-state')).toContainText('no brokers');
  await expect(page.getByTestId('cluster-state')).not.toContainText('unreachable');
  await expect(page.getByText('Topics are listed when the cluster can be reached.')).toBeVisible();
  // The platform tried to create the topic on both clusters; the queue page lists the outcome.
  await expect(async () => {
    await page.goto(`/queues/${project}/events`);
    await expect(page.getByTestId('queue-topics').locator('tbody tr')).toHaveCount(2, { timeout: 1000 });
  }).toPass({ timeout: 20000 });
  await expect(page.getByTestId('queue-topics')).toContainText('failed');
});
