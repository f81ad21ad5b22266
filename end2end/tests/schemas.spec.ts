import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn, unique } from './helpers';

const record = (...extra: object[]) =>
  JSON.stringify({ type: 'record', name: 'Deal', fields: [{ name: 'id', type: 'long' }, ...extra] }, null, 2);

test('edit a schema: an incompatible change is refused by field, a compatible one shows its diff and Flink DDL', async ({ page }, info) => {
  const project = unique('schemas', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  expect((await page.request.post('/api/v1/projects', { data: { name: project } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/v1/queues', { data: { project, name: 'deals', primary_cluster: 'kafka-bj-1', data_format: 'avro' } })).ok()).toBeTruthy();

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
  // Who a change would reach: nobody reads this new queue yet.
  await expect(page.getByTestId('impact')).toContainText('Nothing reads from');
});

test('the editor checks as you type, versions compare side by side, samples are checked, the DDL copies, and fields are searchable', async ({ page, context }, info) => {
  const hydrated = info.project.name === 'hydrated';
  const project = unique('editor', info);
  const field = `zone${Date.now().toString(36)}`;
  await signIn(page, 'admin', ADMIN_PASSWORD);
  expect((await page.request.post('/api/v1/projects', { data: { name: project } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/v1/queues', { data: { project, name: 'deals', primary_cluster: 'kafka-bj-1', data_format: 'avro' } })).ok()).toBeTruthy();
  await page.goto(`/queues/${project}/deals/schema`);
  await page.fill('textarea[name="definition"]', record());
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByTestId('schema-versions')).toContainText('admin');

  if (hydrated) {
    // Live validation: a syntax error with its position, then a refusal naming the field.
    const editor = page.getByTestId('schema-editor');
    await editor.fill('{"type": "record",\n  "name": }');
    await expect(page.getByTestId('schema-live')).toContainText('line 2, column');
    await editor.fill(record({ name: field, type: 'string' }));
    await expect(page.getByTestId('schema-live')).toContainText(field);
    await expect(page.getByTestId('schema-live')).toContainText('BACKWARD');
    await editor.fill(record({ name: field, type: 'string', default: 'emea', doc: 'Sales zone' }));
    await expect(page.getByTestId('schema-live')).toContainText('compatible');
  } else {
    await page.fill('textarea[name="definition"]', record({ name: field, type: 'string', default: 'emea', doc: 'Sales zone' }));
  }
  await page.getByRole('button', { name: 'Publish' }).click();

  // Side by side: the added field on the right only.
  const sbs = page.getByTestId('schema-side-by-side');
  await expect(sbs).toContainText('Version 1');
  await expect(sbs.locator('tr.added, tr.changed', { hasText: field }).first()).toBeVisible();
  await expect(sbs.locator('tr.removed', { hasText: field })).toHaveCount(0);

  // A sample message: what fails is named.
  await page.fill('form[data-testid="sample-form"] textarea[name="sample"]', '{"id": "seven"}');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await expect(page.getByTestId('sample-result')).toContainText('id');
  await page.fill('form[data-testid="sample-form"] textarea[name="sample"]', `{"id": 7, "${field}": "apac"}`);
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await expect(page.getByTestId('sample-result')).toContainText('fits');

  // The queue page has the DDL; the copy button puts it on the clipboard.
  await page.goto(`/queues/${project}/deals`);
  await expect(page.getByTestId('flink-ddl')).toContainText(`\`${field}\` STRING NOT NULL`);
  if (hydrated) {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByTestId('copy-ddl').click();
    await expect(page.getByTestId('copy-ddl')).toHaveText('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(`CREATE TABLE \`${project}\`.\`deals\``);
  }

  // The data map finds the queue by its schema field's name.
  await expect(async () => {
    await page.goto(`/?q=${field}`);
    await expect(page.getByTestId('hit-fields').first()).toContainText(field);
  }).toPass({ timeout: 10_000 });
  await expect(page.locator('.hit').first()).toContainText(project);
});

const order = (idType: string, extra = '') => `syntax = "proto3";
package shop;
// A customer's order.
message Order {
  // The order's number.
  ${idType} id = 1;
  repeated Line lines = 2;${extra}
  message Line { string sku = 1; }
}
`;

test('a protobuf queue edits its schema as .proto: fields first, definition behind a toggle, live checks by field number', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  const project = unique('proto', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  expect((await page.request.post('/api/v1/projects', { data: { name: project } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/v1/queues', { data: { project, name: 'orders', primary_cluster: 'kafka-bj-1', data_format: 'protobuf' } })).ok()).toBeTruthy();

  await page.goto(`/queues/${project}/orders/schema`);
  // A protobuf queue's first version starts in Protobuf.
  await expect(page.locator('select[name="format"]')).toHaveValue('protobuf');
  await page.fill('textarea[name="definition"]', order('int64'));
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByTestId('schema-versions')).toContainText('protobuf');

  // Analysts read fields: path, type and the comment as its doc; the text is behind a toggle.
  const fields = page.getByTestId('schema-fields');
  await expect(fields).toContainText('lines[].sku');
  await expect(fields.locator('tr', { hasText: 'The order\'s number.' })).toContainText('int64');
  await expect(page.getByTestId('schema-latest')).toBeHidden();
  await page.getByTestId('schema-raw').locator('summary').click();
  await expect(page.getByTestId('schema-latest')).toContainText('message Order');

  if (hydrated) {
    const editor = page.getByTestId('schema-editor');
    await editor.fill('syntax = "proto3";\nmessage Order {\n  int64 id = ;\n}\n');
    await expect(page.getByTestId('schema-live')).toContainText('line 3, column');
    await editor.fill(order('sint64'));
    await expect(page.getByTestId('schema-live')).toContainText('Order.id');
    await expect(page.getByTestId('schema-live')).toContainText('BACKWARD');
    await editor.fill(order('int64', '\n  string note = 3;'));
    await expect(page.getByTestId('schema-live')).toContainText('compatible');
  } else {
    await page.fill('textarea[name="definition"]', order('sint64'));
    await page.getByRole('button', { name: 'Publish' }).click();
    await expect(page.getByRole('alert')).toContainText('Order.id');
    await page.fill('textarea[name="definition"]', order('int64', '\n  string note = 3;'));
  }
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByTestId('schema-diff')).toContainText('Order.note');
  await expect(page.getByTestId('schema-side-by-side').locator('tr.added, tr.changed', { hasText: 'note' }).first()).toBeVisible();

  // A sample in protobuf's JSON mapping; an unknown field is named.
  await page.fill('form[data-testid="sample-form"] textarea[name="sample"]', '{"id": "7", "colour": "red"}');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await expect(page.getByTestId('sample-result')).toContainText('colour');
  await expect(page.getByTestId('flink-ddl')).toContainText("'value.format' = 'protobuf'");
});
