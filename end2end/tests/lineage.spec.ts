import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, signIn } from './helpers';

// The demo fleet: shop/checkout-api writes ads/orders-events (the demo's first queue), which
// shop/order-router and several others read; order-router writes on into the next layer.
const HUB = 'queue:ads/orders-events';
const ROUTER = 'app:shop/order-router';

test('open a queue\'s lineage, expand a node and see its downstream path highlighted', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto('/queues/ads/orders-events');
  const strip = page.getByTestId('lineage-strip');
  await expect(strip).toContainText('shop/checkout-api');
  await expect(strip).toContainText('shop/order-router');
  await strip.getByTestId('open-lineage').click();
  await expect(page).toHaveURL(/\/lineage\?node=queue/);
  await expect(page.getByTestId('lineage-focus')).toHaveText('ads/orders-events');

  // One hop only: the hub, its writer and its readers.
  await page.getByTestId('lineage-depth').fill('1');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/depth=1/);
  const graph = page.getByTestId('lineage-graph');
  await expect(graph.locator(`[data-key="${HUB}"]`)).toHaveClass(/focus/);
  const router = graph.locator(`[data-key="${ROUTER}"]`);
  await expect(router).toBeVisible();
  const before = await graph.getByTestId('lineage-node').count();
  await expect(graph.locator(`g.edge[data-from="${ROUTER}"]`)).toHaveCount(0);

  // Clicking the router opens its neighbours and lights its paths.
  await router.click();
  await expect(page).toHaveURL(/selected=app%3Ashop%2Forder-router/);
  await expect(graph.locator(`[data-key="${ROUTER}"]`)).toHaveClass(/sel/);
  expect(await graph.getByTestId('lineage-node').count()).toBeGreaterThan(before);
  const downstream = graph.locator(`g.edge.hl[data-from="${ROUTER}"]`);
  await expect(downstream.first()).toBeAttached();
  const upstream = graph.locator(`g.edge.hl[data-to="${ROUTER}"]`);
  await expect(upstream.first()).toBeAttached();
  // The impact panel lists who to tell about a change to the router.
  await expect(page.getByTestId('impact')).toContainText('order-router');
  await expect(page.getByTestId('impact-owners')).not.toBeEmpty();

  // The drawing downloads as a standalone SVG.
  const href = await page.getByTestId('lineage-export').getAttribute('href');
  const svg = await page.request.get(href!);
  expect(svg.headers()['content-type']).toContain('image/svg+xml');
  expect(await svg.text()).toContain(`data-key="${ROUTER}"`);

  if (hydrated) {
    // Zooming changes the view box, not the drawing.
    const box = await graph.getAttribute('viewBox');
    await page.getByTestId('zoom-in').click();
    await expect(graph).not.toHaveAttribute('viewBox', box!);
  }
});
