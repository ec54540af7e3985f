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
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small app: keep the bundle whole (parser + UI), warn only if it grows a lot.
    chunkSizeWarningLimit: 900,
  },
});
