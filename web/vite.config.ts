import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * One config for both apps; the mode picks which: `vite build --config web/vite.config.ts
 * --mode admin` (or portal). web/build.mjs builds both. For development, run the API
 * (`npm start`) and `npx vite --config web/vite.config.ts --mode admin`: API calls are proxied.
 */
export default defineConfig(({ mode }) => {
  const app = mode === 'portal' ? 'portal' : 'admin';
  const api = process.env.FENXIAO_API_URL ?? 'http://127.0.0.1:8080';
  return {
    root: fileURLToPath(new URL(`./${app}`, import.meta.url)),
    base: `/${app}/`,
    plugins: [react()],
    publicDir: false,
    build: {
      outDir: process.env.FENXIAO_WEB_OUT_DIR ?? fileURLToPath(new URL(`./dist/${app}`, import.meta.url)),
      emptyOutDir: true,
      // antd and ECharts are large by nature; pages are split with React.lazy.
      chunkSizeWarningLimit: 1500,
      sourcemap: false,
      reportCompressedSize: false,
    },
    server: {
      proxy: { '/v1': api, '/i/': api },
    },
  };
});
