import { defineConfig } from 'vite';

// Dev: `KAOWU_URL=http://127.0.0.1:18080 npm run dev` proxies the API
// (HTTP and the graphql-transport-ws websocket, files, PDFs, payment pages)
// to a running Go server.
const api = process.env.KAOWU_URL || 'http://127.0.0.1:18080';

export default defineConfig({
  // Absolute asset URLs (/assets/...): the Go server serves dist at / and
  // answers unknown non-API paths with index.html, so assets must not be
  // resolved relative to the requested path.
  base: '/',
  // No React plugin: Vite's built-in esbuild transforms JSX.
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2020',
    chunkSizeWarningLimit: 512,
    rollupOptions: {
      // React in a chunk of its own: it changes far less often than the
      // app, so browsers keep it cached across releases.
      output: { manualChunks: { react: ['react', 'react-dom', 'react-dom/client'] } },
    },
  },
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: true },
      // Signed files, PDFs and the payment pages are served by the Go server too.
      '/blobs': { target: api, changeOrigin: true },
      '/documents': { target: api, changeOrigin: true },
      '/exports': { target: api, changeOrigin: true },
      '/verify/keys.json': { target: api, changeOrigin: true },
      '/payments': { target: api, changeOrigin: true },
    },
  },
});
