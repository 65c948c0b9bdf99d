import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects: `node` (unit tests beside their modules, end-to-end suites in `test/`) and
 * `workers` (`*.worker.test.ts`, run inside real workerd). `test/support/global-nats.ts` starts
 * one real nats-server for the run and provides its ports to both projects.
 */
export default defineConfig({
  test: {
    globalSetup: ["./test/support/global-nats.ts", "./test/support/global-echo.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          environment: "node",
          include: ["{broker,control,identity,workers,infra,test}/**/*.test.ts"],
          exclude: ["**/*.worker.test.ts", "**/node_modules/**"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./workers/edge/wrangler.jsonc" },
            miniflare: {
              bindings: {
                JIBE_NATS_WS_URL: inject("natsWsUrl") as string,
                JIBE_TRUST_JWKS: inject("testTrustJwks") as string,
                JIBE_TEST_SIGNING_JWK: inject("testSigningJwk") as string,
                // Echo upstreams from test/support/global-echo.ts (workerd cannot start a server itself).
                JIBE_TEST_ECHO_PORT_A: String(inject("echoPortA")),
                JIBE_TEST_ECHO_PORT_B: String(inject("echoPortB")),
                JIBE_TEST_CLOSED_PORT: String(inject("closedPort")),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["{workers,identity}/**/*.worker.test.ts"],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
