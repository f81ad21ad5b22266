import { test, expect, Page } from '@playwright/test';
import { ADMIN_PASSWORD, signIn, unique } from './helpers';

async function api(page: Page, path: string, data: object) {
  const r = await page.request.post(path, { data });
  expect(r.ok(), `${path}: ${await r.text()}`).toBeTruthy();
  return r.json();
}

// The analyst: lineage's front door, a project opened up in place, a node's lineage, an
// edge's panel, and a shared link that reproduces the view.
test('an analyst browses lineage from its landing page and shares an exact view', async ({ page }) => {
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('link', { name: 'Lineage', exact: true }).click();
  await expect(page).toHaveURL(/\/lineage$/);
  await expect(page.getByRole('heading', { name: 'Lineage', exact: true })).toBeVisible();
  await expect(page.getByTestId('lineage-size')).toContainText('nodes');
  // The demo fleet's week of traffic: queues with readers, folded projects to click.
  await expect(page.getByTestId('most-read').locator('tbody tr').first()).toBeVisible();
  await expect(page.getByTestId('jobs')).toBeVisible();
  const overview = page.getByTestId('lineage-overview');
  const groups = overview.locator('[data-testid="lineage-node"][data-key^="group:"]');
  expect(await groups.count()).toBeGreaterThan(1);

  // A project opens up in place.
  const shop = overview.locator('[data-key="group:shop"]');
  await shop.click();
  await expect(page).toHaveURL(/expand=shop/);
  await expect(overview.locator('[data-key="app:shop/order-router"]')).toBeVisible();

  // Search finds queues (through the data map) and applications (in the graph).
  await page.getByTestId('lineage-search').fill('order-router');
  await page.getByRole('button', { name: 'Find' }).click();
  const found = page.getByTestId('lineage-found');
  await expect(found).toContainText('shop/order-router');
  await found.getByRole('link', { name: 'shop/order-router' }).click();
  await expect(page).toHaveURL(/\/lineage\?node=app%3Ashop%2Forder-router/);
  await expect(page.getByTestId('lineage-focus')).toHaveText('shop/order-router');

  // An edge tells what flows on hover, and opens its panel on click.
  const edge = page.getByTestId('lineage-graph').getByTestId('lineage-edge').first();
  await expect(edge.locator('title')).toHaveText(/→ .*(msg\/s|idle)/);
  const href = await page.getByTestId('lineage-edge-link').first().getAttribute('href');
  expect(href).toContain('edge=');
  await page.goto(href!);
  const panel = page.getByTestId('edge-panel');
  await expect(panel).toBeVisible();
  await expect(panel.getByTestId('edge-flow')).toHaveText(/msg\/s|idle/);

  // The shared link spells out every setting and reproduces the view.
  const share = await page.getByTestId('lineage-share').getAttribute('href');
  for (const p of ['node=', 'direction=', 'depth=', 'days=', 'stale=', 'edge=']) {
    expect(share).toContain(p);
  }
  const from = await panel.locator('h2').textContent();
  const svg = await page.getByTestId('lineage-graph').innerHTML();
  await page.goto('/');
  await page.goto(share!);
  await expect(page.getByTestId('edge-panel').locator('h2')).toHaveText(from!);
  const again = await page.getByTestId('lineage-graph').innerHTML();
  const nodes = (html: string) => (html.match(/data-key="[^"]+"/g) ?? []).sort().join(' ');
  expect(nodes(again)).toBe(nodes(svg));
});

// The approver: the inbox longest-waiting first, context on a request, several decided
// with one comment.
test('an approver sees what a request waits for and decides several with one comment', async ({ page }, info) => {
  const dev = unique('jdev', info);
  const approver = unique('jappr', info);
  const owned = unique('jsales', info);
  const lab = unique('jlab', info);

  await signIn(page, 'admin', ADMIN_PASSWORD);
  await api(page, '/api/v1/users', { username: dev, password: 'dev-password', role: 'developer' });
  await api(page, '/api/v1/users', { username: approver, password: 'approver-password', role: 'approver' });
  await api(page, '/api/v1/projects', { name: owned });
  for (const q of ['deals', 'leads']) {
    await api(page, '/api/v1/queues', { project: owned, name: q, primary_cluster: 'kafka-bj-1' });
  }
  await page.context().clearCookies();

  await signIn(page, dev, 'dev-password');
  await api(page, '/api/v1/projects', { name: lab });
  await api(page, '/api/v1/applications', { project: lab, name: 'forecaster' });
  const ids: number[] = [];
  for (const q of ['deals', 'leads']) {
    const r = await api(page, '/api/v1/requests', {
      project: lab, application: 'forecaster', queue_project: owned, queue: q,
      permission: 'consume', reason: 'forecasts', duration: '90',
    });
    ids.push(r.id);
  }
  // A third stays open, so the inbox still has a form after the two are decided.
  await api(page, '/api/v1/requests', {
    project: lab, application: 'forecaster', queue_project: owned, queue: 'deals',
    permission: 'produce', reason: 'write back forecasts', duration: '90',
  });
  await page.context().clearCookies();

  await signIn(page, approver, 'approver-password');
  await page.goto('/requests');
  const rows = page.getByTestId('inbox').getByTestId('inbox-row');
  // Longest waiting first: the first request comes before the second.
  const order = await rows.evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-id'))));
  expect(order.indexOf(ids[0])).toBeLessThan(order.indexOf(ids[1]));
  const first = page.locator(`[data-testid="inbox-row"][data-id="${ids[0]}"]`);
  await expect(first.getByTestId('waited')).toHaveText(/minute/);

  // The request page gives context: what the application reads, who else reads the queue.
  await first.getByRole('link', { name: `#${ids[0]}` }).click();
  await expect(page.getByTestId('request-context')).toContainText('Who else reads');
  await expect(page.getByTestId('request-waited')).toHaveText(/minute/);
  await page.goto('/requests');

  // Tick both, one comment, one click.
  for (const id of ids) {
    await page.locator(`[data-testid="inbox-row"][data-id="${id}"]`).getByTestId('pick').check();
  }
  await page.fill('[data-testid="bulk-form"] textarea[name="comment"]', 'fine for the forecast');
  await page.getByTestId('bulk-approve').click();
  await expect(page.getByTestId('bulk-decided')).toHaveText(`Decided #${ids[0]}, #${ids[1]}.`);
  for (const id of ids) {
    await page.goto(`/requests/${id}`);
    await expect(page.getByTestId('request-status')).toHaveText('approved');
    await expect(page.locator('ol.timeline')).toContainText('fine for the forecast');
  }

  // Nothing ticked: the form comes back saying so.
  await page.goto('/requests');
  await page.getByTestId('bulk-approve').click();
  await expect(page.getByRole('alert')).toContainText('pick at least one request');
});

// The newcomer: a fresh account starts with a quiet inbox, the demo's clusters say plainly
// that they have no brokers, and one person's own application uses their own queue without
// asking anyone, until the project's owner switches that off.
test('a newcomer tries the platform alone: quiet inbox, honest clusters, own queue without a request', async ({ page }, info) => {
  const me = unique('newbie', info);
  const project = unique('tryout', info);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await api(page, '/api/v1/users', { username: me, password: 'newbie-password', role: 'developer' });
  await page.context().clearCookies();

  await signIn(page, me, 'newbie-password');
  await expect(page.getByTestId('notice-badge')).toHaveCount(0);
  await page.goto('/clusters');
  await expect(page.locator('body')).not.toContainText('failed to lookup');
  await page.goto('/clusters/kafka-bj-1');
  await expect(page.getByTestId('cluster-state')).toContainText('no brokers');

  await api(page, '/api/v1/projects', { name: project });
  await api(page, '/api/v1/queues', { project, name: 'greetings', primary_cluster: 'kafka-bj-1' });
  await api(page, '/api/v1/applications', { project, name: 'hello' });
  const access = async () => {
    await page.goto(`/?q=project:${project}`);
    return page.getByTestId('hit-access');
  };
  await expect(async () => {
    await expect(await access()).toHaveText('read & write', { timeout: 1000 });
  }).toPass({ timeout: 10000 });

  // The owner switches it off on the project page: now a request is needed.
  await page.goto(`/projects/${project}`);
  await page.getByTestId('own-apps-form').locator('input[name="enabled"]').uncheck();
  await page.getByTestId('own-apps-form').getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('own-apps-form').locator('input[name="enabled"]')).not.toBeChecked();
  await expect(async () => {
    await expect(await access()).not.toHaveText('read & write', { timeout: 1000 });
  }).toPass({ timeout: 10000 });
  await expect(page.locator('a.request-link')).toBeVisible();
});
