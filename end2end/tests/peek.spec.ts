import { test, expect, Page } from '@playwright/test';
import { ADMIN_PASSWORD, signIn } from './helpers';

// Orders written by confluent-kafka's AvroSerializer against Watershed's /schema-registry on a
// local broker (tests/clients/peek_seed.py, run by scripts/test.sh), looked at in the console:
// hydrated and with JavaScript off (the form is a plain GET form).
const MESSAGES = '/queues/peeks/orders/messages';

test.skip(!process.env.WATERSHED_E2E_PEEK, 'needs the peek seed that scripts/test.sh writes');

async function values(page: Page): Promise<string[]> {
  return page.locator('pre.peek-value').allTextContents();
}

test('a member sees decoded orders with the schema version, the sensitive field masked and the broken one flagged', async ({ page }) => {
  await signIn(page, 'peek-member', 'peek-password');
  await page.goto('/queues/peeks/orders');
  await page.getByRole('link', { name: 'Messages' }).click();
  await expect(page).toHaveURL(new RegExp(`${MESSAGES}$`));
  await expect(page.getByTestId('peek-summary')).toContainText('20 shown');
  await expect(page.getByTestId('peek-message')).toHaveCount(20);
  const orders = page.getByTestId('peek-message').filter({ hasNotText: 'wire format' });
  await expect(orders).toHaveCount(19);
  await expect(orders.first().getByTestId('peek-encoding')).toContainText('schema version 1');
  const shown = (await values(page)).join('\n');
  expect(shown).toContain('"country": "FR"');
  expect(shown).toContain('"email": "••• string');
  expect(shown).not.toContain('@example.com');
  await expect(orders.first().getByTestId('peek-masked')).toContainText('email');
  // The value that is not Avro is flagged with why it breaks the contract, and masked whole
  // for a member (its sensitive fields cannot be told from the rest).
  const broken = page.getByTestId('peek-message').filter({ has: page.getByTestId('peek-problem') });
  await expect(broken).toHaveCount(1);
  await expect(broken.getByTestId('peek-problem')).toContainText('wire format');
  await expect(broken.locator('pre.peek-value')).toContainText('••• text');
  expect(shown).not.toContain('this is not avro');
  // No unmasking for a member, and a forged request is refused by the server.
  await expect(page.locator('input[name="unmask"]')).toHaveCount(0);
  const forged = await page.request.get(`/api/v1${MESSAGES}?unmask=true`);
  expect(forged.status()).toBe(403);
});

test('filters by a field, and names a field that is masked or malformed', async ({ page }) => {
  await signIn(page, 'peek-member', 'peek-password');
  await page.goto(MESSAGES);
  await page.fill('input[name="field"]', 'country = "DE"');
  await page.getByRole('button', { name: 'Peek', exact: true }).click();
  await expect(page).toHaveURL(/field=country/);
  await expect(page.getByTestId('peek-message')).toHaveCount(5);
  for (const v of await values(page)) expect(v).toContain('"country": "DE"');
  await page.fill('input[name="field"]', 'email = "buyer1@example.com"');
  await page.getByRole('button', { name: 'Peek', exact: true }).click();
  await expect(page.getByTestId('peek-invalid')).toContainText('email is sensitive');
  await page.fill('input[name="field"]', '');
  await page.fill('input[name="from_time"]', '2999-01-01T00:00:00Z');
  await page.getByRole('button', { name: 'Peek', exact: true }).click();
  await expect(page.getByTestId('peek-invalid')).toContainText('from_time');
});

test('the owner shows sensitive fields in the clear, and every look is audited', async ({ page }) => {
  await signIn(page, 'peek-owner', 'peek-password');
  await page.goto(MESSAGES);
  await expect(page.getByTestId('peek-message')).toHaveCount(20);
  expect((await values(page)).join('\n')).not.toContain('@example.com');
  await page.check('input[name="unmask"]');
  await page.getByRole('button', { name: 'Peek', exact: true }).click();
  await expect(page).toHaveURL(/unmask=true/);
  const orders = page.getByTestId('peek-message').filter({ hasNotText: 'wire format' });
  await expect(orders.first()).toContainText('@example.com');
  // In the clear for the owner: what the broken producer wrote.
  await expect(page.getByTestId('peek-message').filter({ hasText: 'wire format' })).toContainText('this is not avro');
  await expect(page.locator('details summary', { hasText: 'Copy as producer command' }).first()).toBeVisible();
  await page.context().clearCookies();

  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto('/audit?action=queue.peek_unmasked');
  await expect(page.locator('table.list tbody tr').first()).toContainText('peek-owner');
  await page.goto('/audit?action=queue.peek');
  await expect(page.locator('table.list tbody')).toContainText('peek-member');
  await expect(page.locator('table.list tbody')).toContainText('field country = "DE"');
});

test('a viewer without a grant sees the schema link and Request access, never data', async ({ page }) => {
  await signIn(page, 'peek-viewer', 'peek-password');
  await page.goto(MESSAGES);
  await expect(page.getByTestId('peek-refused')).toContainText('request access');
  await expect(page.getByTestId('peek-message')).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'schema', exact: true })).toBeVisible();
  await expect(page.locator('#request-access')).toBeVisible();
  const direct = await page.request.get(`/api/v1${MESSAGES}`);
  expect(direct.status()).toBe(403);
});
