import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["tests/**/*.test.ts", "src/**/*.test.ts"],
    exclude: ["e2e/**", "node_modules/**", "dist/**", ".cache/**"],
    // Some tests convert or run the full 138M-parameter model.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
