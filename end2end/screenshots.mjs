// Takes the README's screenshots of the lineage landing page and an approver's inbox from a
// running demo server: WATERSHED_E2E_URL (default http://127.0.0.1:3400) with the admin's
// password in WATERSHED_ADMIN_PASSWORD. Writes docs/lineage-landing.png and docs/inbox.png.
//   cd end2end && node screenshots.mjs
import { chromium } from '@playwright/test';

const base = process.env.WATERSHED_E2E_URL ?? 'http://127.0.0.1:3400';
const password = process.env.WATERSHED_ADMIN_PASSWORD ?? 'e2e-admin-password';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const context = await browser.newContext({
  baseURL: base,
  viewport: { width: 1280, height: 1000 },
  extraHTTPHeaders: { origin: new URL(base).origin },
});
const page = await context.newPage();

async function signIn(user, pass) {
  await context.clearCookies();
  await page.goto('/login');
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', pass);
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/$/);
}
async function post(path, data) {
  const r = await page.request.post(path, { data });
  if (!r.ok()) throw new Error(`${path}: ${r.status()} ${await r.text()}`);
  return r.json();
}

await signIn('admin', password);
await page.goto('/lineage');
await page.getByTestId('lineage-overview').waitFor();
await page.screenshot({ path: '../docs/lineage-landing.png', fullPage: true });

// An approver with three requests waiting, from two teams.
const stamp = Date.now().toString(36);
const approver = `maria-${stamp}`;
await post('/api/v1/users', { username: approver, password: 'approver-password', role: 'approver' });
const dev = `sam-${stamp}`;
await post('/api/v1/users', { username: dev, password: 'developer-password', role: 'developer' });
await signIn(dev, 'developer-password');
const lab = `forecasting-${stamp}`;
await post('/api/v1/projects', { name: lab });
for (const app of ['demand-model', 'price-watch']) {
  await post('/api/v1/applications', { project: lab, name: app });
}
const found = await (await page.request.get('/api/v1/search?q=events&limit=3')).json();
const reasons = ['Daily demand forecast', 'Price anomaly alerts', 'Revenue features'];
for (const [i, hit] of found.hits.entries()) {
  await post('/api/v1/requests', {
    project: lab, application: i % 2 ? 'price-watch' : 'demand-model', queue_project: hit.project,
    queue: hit.name, permission: 'consume', reason: reasons[i], duration: '90',
  }).catch((e) => console.warn(String(e)));
}
await signIn(approver, 'approver-password');
await page.goto('/requests');
const rows = page.getByTestId('inbox-row');
await rows.first().waitFor();
for (let i = 0; i < Math.min(2, await rows.count()); i++) {
  await rows.nth(i).getByTestId('pick').check();
}
await page.fill('[data-testid="bulk-form"] textarea[name="comment"]', 'Fine for the forecasting team');
await page.screenshot({ path: '../docs/inbox.png', fullPage: true });
await browser.close();
