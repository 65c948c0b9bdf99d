#!/usr/bin/env node
// `node control/plane/main.ts`: the control plane alone (standalone.ts says which environment it reads).
import { runStandaloneControlPlane } from "./standalone.ts";

try {
  const stop = await runStandaloneControlPlane(process.env, console);
  const shutdown = () =>
    void stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
} catch (error) {
  // Start-up failures are configuration problems (port taken, no nats-server, bad key file): one line.
  const message = error instanceof Error ? error.message : String(error);
  console.error(process.env.JIBE_DEBUG === "1" ? error : `jibe control plane: ${message}`);
  process.exit(1);
}
