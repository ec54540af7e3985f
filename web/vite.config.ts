/**
 * The dashboard build (docs/dashboard.md): `npm run build:web` (part of `npm run build` and
 * `prepare`) writes dist/web, which ships in the npm package and which `sluice run` serves
 * under `/` on the API port (src/api/static.ts). Preact with JSX, uPlot for the charts, and the
 * rule parser of src/sql-parser bundled in (it has no Node dependencies).
 */
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npx vite --config web/vite.config.ts`: live reload against a running `sluice run`.
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': process.env['SLUICE_API_URL'] ?? 'http://127.0.0.1:18083',
      '/metrics': process.env['SLUICE_API_URL'] ?? 'http://127.0.0.1:18083',
    },
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small app: keep the bundle whole (parser + UI), warn only if it grows a lot.
    chunkSizeWarningLimit: 900,
  },
});
