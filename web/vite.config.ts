// The dashboard's build (docs/dashboard.md): web/ → dist/ui/, served by `serve` under /ui/.
// Content-hashed file names under assets/ (served as immutable); everything is bundled, nothing
// is fetched from another origin.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
  },
});
