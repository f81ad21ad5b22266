import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import type { NodeResult, Result } from 'axe-core';
import { ADMIN_PASSWORD, signIn } from './helpers';

// Every kind of console page, checked with axe-core against WCAG 2 A and AA, hydrated and
// as served to a browser with JavaScript off. The demo data: ads/orders-events is the demo's first queue (two schema
// versions, the lineage hub), shop/order-router reads it (its grants came through requests),
// kafka-bj-1 is a demo cluster.
const QUEUE = '/queues/ads/orders-events';
const APP = '/applications/shop/order-router';

type Target = {
  name: string;
  /** The page's path, or how to find it (undefined when the demo data has none). */
  path: string | ((page: Page) => Promise<string | undefined>);
  /** The login page: checked before signing in. */
  anonymous?: boolean;
  /** Pages outside the signed-in frame have no header, so no user menu to tell hydration by. */
  frame?: boolean;
  /** A part the page must show, so the check covers it (a test id). */
  shows?: string;
};

const PAGES: Target[] = [
  { name: 'login', path: '/login', anonymous: true, frame: false },
  { name: 'data map', path: '/' },
  { name: 'data map search', path: '/?q=orders' },
  { name: 'projects', path: '/projects' },
  { name: 'new project', path: '/projects/new' },
  { name: 'project', path: '/projects/shop' },
  { name: 'queue', path: QUEUE },
  { name: 'new queue', path: '/queues/new?project=shop' },
  { name: 'queue edit', path: `${QUEUE}/edit` },
  { name: 'queue schema', path: `${QUEUE}/schema` },
  { name: 'queue schema diff', path: `${QUEUE}/schema?from=1&to=2` },
  {
    name: 'queue messages',
    // Seeded by scripts/test.sh on a local broker (tests/clients/peek_seed.py).
    path: async () => (process.env.WATERSHED_E2E_PEEK ? '/queues/peeks/orders/messages' : undefined),
    shows: 'peek-result',
  },
  { name: 'application', path: APP },
  { name: 'lineage landing', path: '/lineage' },
  { name: 'lineage of a queue', path: '/lineage?node=queue:ads/orders-events' },
  {
    name: 'lineage with a selected node',
    path: '/lineage?node=queue:ads/orders-events&selected=app:shop/order-router',
  },
  {
    name: 'lineage with an open edge',
    path: '/lineage?node=queue:ads/orders-events&edge=app:shop/checkout-api,queue:ads/orders-events',
    shows: 'edge-panel',
  },
  {
    name: 'lineage landing with a project opened',
    path: '/lineage?expand=shop&q=orders',
    shows: 'lineage-found',
  },
  { name: 'requests', path: '/requests' },
  {
    name: 'request',
    // A request the demo filed and approved: the application's grants link to it.
    path: async (page) => {
      await page.goto(APP);
      const link = page.getByTestId('grants').locator('a[href^="/requests/"]').first();
      return (await link.count()) ? ((await link.getAttribute('href')) ?? undefined) : undefined;
    },
  },
  { name: 'clusters', path: '/clusters' },
  { name: 'new cluster', path: '/clusters/new' },
  { name: 'cluster', path: '/clusters/kafka-bj-1' },
  { name: 'cluster edit', path: '/clusters/kafka-bj-1/edit' },
  { name: 'audit log', path: '/audit' },
  { name: 'notifications', path: '/notifications' },
  { name: 'API tokens', path: '/tokens' },
  { name: 'users', path: '/users' },
  { name: 'not found', path: '/no-such-page', frame: false },
];

/** Waits until the wasm has hydrated the page's islands. As in hydration.spec.ts, the user
 * menu (an island in every signed-in page's header) opens only once hydrated: click until it
 * does, then close it again so the page is checked as it first shows. */
async function hydrated(page: Page) {
  const button = page.getByTestId('user-menu');
  const open = page.locator('.user-menu.open');
  await expect(async () => {
    await button.click();
    await expect(open).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await button.click();
  await expect(open).toBeHidden();
}

function target(n: NodeResult): string {
  return n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))).join(' ');
}

/** One line per failing element: its selector, and for colour contrast the colours axe saw. */
function element(rule: string, n: NodeResult): string {
  const data = n.any[0]?.data as
    | { fgColor?: string; bgColor?: string; contrastRatio?: number; expectedContrastRatio?: string }
    | undefined;
  if (rule === 'color-contrast' && data?.fgColor) {
    return `${target(n)}: ${data.fgColor} on ${data.bgColor}, ${data.contrastRatio}:1 (needs ${data.expectedContrastRatio})`;
  }
  return target(n);
}

/** A violation as readable text: rule, impact, help and (up to 25 of) its elements. */
function summary(v: Result): string {
  const shown = v.nodes.slice(0, 25).map((n) => `    ${element(v.id, n)}`);
  if (v.nodes.length > shown.length) {
    shown.push(`    … and ${v.nodes.length - shown.length} more`);
  }
  return [`${v.id} (${v.impact}, ${v.nodes.length} element(s)): ${v.help}`, ...shown].join('\n');
}

/** axe is itself a script, so it cannot run where JavaScript is off. For the "ssr" run the
 * page is shown as a browser without JavaScript shows it instead: every `<script>` dropped
 * (and script files refused), `<noscript>` content shown; only axe runs. */
async function asWithoutJavaScript(page: Page) {
  await page.route('**/*', async (route) => {
    const kind = route.request().resourceType();
    if (kind === 'script') {
      return route.abort();
    }
    if (kind !== 'document') {
      return route.continue();
    }
    const response = await route.fetch({ maxRedirects: 0 });
    const body = (await response.text())
      .replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '')
      .replace(/<\/?noscript>/gi, '');
    await route.fulfill({ response, body });
  });
}

test.describe('axe-core finds no WCAG 2 A or AA violation', () => {
  // axe needs JavaScript in both runs; the "ssr" run keeps the page's own scripts out.
  test.use({ javaScriptEnabled: true });
  for (const p of PAGES) {
    test(p.name, async ({ page }, info) => {
      if (!p.anonymous) {
        await signIn(page, 'admin', ADMIN_PASSWORD);
      }
      const path = typeof p.path === 'string' ? p.path : await p.path(page);
      test.skip(path === undefined, `the demo data has no ${p.name} page`);
      if (info.project.name === 'ssr') {
        await asWithoutJavaScript(page);
      }
      await page.goto(path!);
      if (info.project.name === 'ssr') {
        // Nothing hydrated it: no script of the page ran.
        expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(0);
      }
      if (info.project.name === 'hydrated' && p.frame !== false) {
        await hydrated(page);
      }
      if (p.shows) {
        await expect(page.getByTestId(p.shows)).toBeVisible();
      }
      const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
      if (results.violations.length) {
        await info.attach('axe-violations.json', {
          body: JSON.stringify(results.violations, null, 2),
          contentType: 'application/json',
        });
      }
      expect(
        results.violations.map(summary),
        `axe-core violations on ${path}:\n${results.violations.map(summary).join('\n')}`,
      ).toEqual([]);
    });
  }
});
