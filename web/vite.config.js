import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// base './': the bundle works from any path (the Go server at /, a bucket
// sub-folder in the cloud); config.json is fetched relative to the page.
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    // `npm run dev` proxies the API to the local stack (make dev).
    proxy: { '/api': process.env.CHORUS_URL || 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.js'],
    include: ['src/**/*.test.{js,jsx}'],
    restoreMocks: true,
  },
});
