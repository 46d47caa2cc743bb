import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The bundle ships inside the Python package: `voxguard serve` serves it at `/`.
// `npm run dev` proxies the API to a running `voxguard serve` on :8000.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../src/voxguard/web/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { "/v1": "http://127.0.0.1:8000", "/health": "http://127.0.0.1:8000" },
  },
});
