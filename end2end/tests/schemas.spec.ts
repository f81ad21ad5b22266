import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn, unique } from './helpers';

const record = (...extra: object[]) =>
  JSON.stringify({ type: 'record', name: 'Deal', fields: [{ name: 'id', type: 'long' }, ...extra] }, null, 2);

test('edit a schema: an incompatible change is refused by field, a compatible one shows its diff and Flink DDL', async ({ page }, info) => {
  const project = unique('schemas', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  expect((await page.request.post('/api/v1/projects', { data: { name: project } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/v1/queues', { data: { project, name: 'deals', primary_cluster: 'kafka-bj-1' } })).ok()).toBeTruthy();

  await page.goto(`/queues/${project}/deals`);
  await page.getByRole('link', { name: 'Schema', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/queues/${project}/deals/schema$`));
  await page.fill('textarea[name="definition"]', record());
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByTestId('schema-versions')).toContainText('admin');

  await page.fill('textarea[name="definition"]', record({ name: 'region', type: 'string' }));
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByRole('alert')).toContainText('region');
  await expect(page.getByRole('alert')).toContainText('BACKWARD');

  await page.fill('textarea[name="definition"]', record({ name: 'region', type: 'string', default: 'emea' }));
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByTestId('schema-diff')).toContainText('region');
  await expect(page.getByTestId('schema-diff')).toContainText('compatible');
  await expect(page.getByTestId('flink-ddl')).toContainText(`CREATE TABLE \`${project}\`.\`deals\``);
  await expect(page.getByTestId('flink-ddl')).toContainText('`region` STRING NOT NULL');
});
