#!/usr/bin/env node
/**
 * `jibe proxy wait` in the image: polls the proxy's readiness endpoint (what the injected container's
 * readinessProbe asks, control/injector/sidecar-containers.ts) until it answers 200, so a postStart hook
 * holds the app container until the proxy is ready. Gives up (exit 1) after `JIBE_PROXY_WAIT_SECONDS`
 * (default 600).
 */
import { PROXY } from "../../control/injector/traffic-capture.ts";

const url = `http://127.0.0.1:${PROXY.statusPort}/healthz/ready`;
const deadline = Date.now() + Number(process.env.JIBE_PROXY_WAIT_SECONDS ?? 600) * 1000;
for (;;) {
  const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    (res) => res.ok,
    () => false,
  );
  if (ok) process.exit(0);
  if (Date.now() > deadline) {
    console.error(`jibe proxy wait: ${url} not ready in time`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
