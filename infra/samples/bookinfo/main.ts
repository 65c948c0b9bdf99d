#!/usr/bin/env node
/**
 * Runs one bookinfo instance on its own, e.g. next to a standalone sidecar:
 *
 *   node infra/samples/bookinfo/main.ts reviews v3 --port 9080 --outbound http://127.0.0.1:15001
 *
 * `--no-trace-headers` stops it copying trace headers to its calls (an app without tracing code);
 * `node --import jibe/propagation infra/samples/bookinfo/main.ts ... --no-trace-headers` stitches them again.
 */
import { parseArgs } from "node:util";
import type { BookinfoService } from "./downstream.ts";
import { startSampleService } from "./sample-service.ts";

const SERVICES: readonly BookinfoService[] = ["productpage", "details", "reviews", "ratings"];
const usage =
  "usage: main.ts <productpage|details|reviews|ratings> <version> [--port N] [--outbound URL] [--no-trace-headers]";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string", default: "9080" },
    outbound: { type: "string" },
    host: { type: "string" },
    "no-trace-headers": { type: "boolean", default: false },
  },
});
const [service, version = "v1"] = positionals;
if (!SERVICES.includes(service as BookinfoService)) {
  console.error(`${usage}\n${service === undefined ? "missing service" : `unknown service "${service}"`}`);
  process.exit(2);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`${usage}\n--port ${values.port} is not a port number`);
  process.exit(2);
}
const running = await startSampleService({
  service: service as BookinfoService,
  version,
  port,
  host: values.host,
  outboundUrl: values.outbound,
  propagateTraceHeaders: !values["no-trace-headers"],
});
console.info(
  `${service} ${version} on port ${running.port}${values.outbound ? `, calls via ${values.outbound}` : ""}`,
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void running.stop().finally(() => process.exit(0)));
}
