import { defineConfig } from '@playwright/test';

// The server is started by scripts/test.sh (or by hand) and named by WATERSHED_E2E_URL.
const baseURL = process.env.WATERSHED_E2E_URL ?? 'http://127.0.0.1:3400';

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    // page.request calls carry the session cookie but, unlike the browser, no Origin; the
    // server refuses cookie-authenticated changes that do not name its own origin.
    extraHTTPHeaders: { origin: new URL(baseURL).origin },
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  // Every spec runs twice: hydrated, and as pure server-rendered HTML with JavaScript off.
  projects: [
    { name: 'hydrated' },
    { name: 'ssr', use: { javaScriptEnabled: false } },
  ],
});
