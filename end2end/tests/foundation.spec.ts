import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn, unique } from './helpers';

test('an admin creates a project, a cluster and a queue, then finds it in the list and the audit log', async ({ page }, info) => {
  const project = unique('p', info);
  const cluster = unique('k', info);
  const queue = unique('q', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);

  await page.goto('/projects/new');
  await page.fill('input[name="name"]', project);
  await page.fill('textarea[name="description"]', 'Made by the end-to-end test');
  await page.click('button:has-text("Create project")');
  await expect(page).toHaveURL(new RegExp(`/projects/${project}$`));
  await expect(page.getByRole('heading', { name: project })).toBeVisible();

  await page.goto('/clusters/new');
  await page.fill('input[name="form[name]"]', cluster);
  await page.selectOption('select[name="form[kind]"]', 'automq');
  await page.fill('input[name="form[bootstrap_servers]"]', 'broker-1:9092,broker-2:9092');
  await page.click('button:has-text("Register cluster")');
  await expect(page).toHaveURL(new RegExp(`/clusters/${cluster}$`));
  await expect(page.getByText('broker-1:9092,broker-2:9092')).toBeVisible();

  await page.goto(`/queues/new?project=${project}`);
  await page.fill('input[name="form[name]"]', queue);
  await page.fill('textarea[name="form[description]"]', 'Orders placed in the e2e shop');
  await page.fill('input[name="form[tags]"]', 'e2e, orders');
  await page.selectOption('select[name="form[primary_cluster]"]', cluster);
  await page.click('button:has-text("Create queue")');
  await expect(page).toHaveURL(new RegExp(`/queues/${project}/${queue}$`));
  // The queue's facts name its topic (the per-cluster topic table may name it too, once probed).
  await expect(page.locator('dl').getByText(`${project}.${queue}`)).toBeVisible();

  // The data map's index follows the database within a second.
  const hit = page.locator('a.queue-link', { hasText: queue });
  await expect(async () => {
    await page.goto(`/?q=${queue}`);
    await expect(hit).toHaveCount(1, { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await hit.click();
  await expect(page).toHaveURL(new RegExp(`/queues/${project}/${queue}$`));

  await page.goto(`/audit?target=${queue}`);
  const row = page.locator('table.audit tbody tr', { hasText: 'queue.create' });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('admin');
});

test('a bad queue name is refused with the field named', async ({ page }, info) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto('/queues/new');
  await page.selectOption('select[name="form[project]"]', { index: 1 });
  await page.fill('input[name="form[name]"]', 'Not A Slug');
  await page.selectOption('select[name="form[primary_cluster]"]', { index: 1 });
  await page.click('button:has-text("Create queue")');
  await expect(page.getByRole('alert').filter({ hasText: 'name: must start with a lowercase letter' })).toBeVisible();
  await expect(page).toHaveURL(/\/queues\/new/);
  // The message also stands beside the field itself.
  await expect(page.locator('label', { has: page.locator('input[name="form[name]"]') }).locator('.field-error'))
    .toHaveText('must start with a lowercase letter');
});

test('a viewer is refused every change in the console', async ({ page }, info) => {
  const viewer = unique('v', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  const created = await page.request.post('/api/v1/users', {
    data: { username: viewer, password: 'viewer-password', role: 'viewer' },
  });
  expect(created.ok()).toBeTruthy();
  await page.goto('/');
  await page.context().clearCookies();

  await signIn(page, viewer, 'viewer-password');
  await page.goto('/projects/new');
  await page.fill('input[name="name"]', unique('nope', info));
  await page.click('button:has-text("Create project")');
  await expect(page.getByRole('alert').filter({ hasText: 'can only read' })).toBeVisible();
  const forged = await page.request.post('/api/v1/queues', {
    data: { project: 'shop', name: 'forged', primary_cluster: 'kafka-bj-1' },
  });
  expect(forged.status()).toBe(403);
});
