// The front end of `advlab ui`: built once (npm run build) into dist/app, which the server serves as is.
// `source` first: the app bundles @advlab/core from its TypeScript, the same code the CLI runs.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'app',
  base: '/',
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: '../dist/app',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // tf.js and its webgl backend make the playground's chunk large; it is loaded only on that page.
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      onwarn(warning, warn) {
        // @advlab/core imports tfjs-layers lazily for Node's sake; in the app it is loaded anyway, which is fine.
        if (warning.code === 'INEFFECTIVE_DYNAMIC_IMPORT') return;
        warn(warning);
      },
    },
  },
});
