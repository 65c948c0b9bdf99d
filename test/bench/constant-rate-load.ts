#!/usr/bin/env node
/**
 * Open-loop load at a fixed rate, in its own process: `JIBE_LOAD` is JSON `{ url, host, rate,
 * durationMs, connections, bodyBytes }`. Requests are POSTs of `bodyBytes` over `connections`
 * keep-alive connections, started on schedule whether or not earlier ones finished; latency is
 * measured from the scheduled start (no coordinated omission). Prints one JSON line of results.
 */
import { Agent, request } from "node:http";

interface LoadSpec {
  url: string;
  host: string;
  rate: number;
  durationMs: number;
  connections: number;
  bodyBytes: number;
}

const spec = JSON.parse(process.env.JIBE_LOAD ?? "{}") as LoadSpec;
const target = new URL(spec.url);
const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
const body = Buffer.alloc(spec.bodyBytes, "x");
const latencies: number[] = [];
let errors = 0;
let non2xx = 0;
let inFlight = 0;

function send(scheduled: number): void {
  inFlight++;
  const req = request(
    {
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: "POST",
      agent,
      headers: { host: spec.host, "content-type": "application/octet-stream", "content-length": body.length },
    },
    (res) => {
      res.resume();
      res.on("end", () => {
        inFlight--;
        if ((res.statusCode ?? 0) >= 300) non2xx++;
        latencies.push(performance.now() - scheduled);
      });
    },
  );
  req.on("error", () => {
    inFlight--;
    errors++;
  });
  req.end(body);
}

const started = performance.now();
const interval = 1000 / spec.rate;
let sent = 0;
const timer = setInterval(() => {
  const due = Math.min(
    Math.floor((performance.now() - started) / interval),
    Math.floor(spec.durationMs / interval),
  );
  while (sent < due) send(started + sent++ * interval);
  if (sent >= Math.floor(spec.durationMs / interval)) {
    clearInterval(timer);
    const waitStarted = performance.now();
    const finish = setInterval(() => {
      if (inFlight > 0 && performance.now() - waitStarted < 10_000) return;
      clearInterval(finish);
      const elapsed = performance.now() - started;
      latencies.sort((a, b) => a - b);
      const at = (p: number) =>
        latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
      console.log(
        JSON.stringify({
          sent,
          completed: latencies.length,
          errors,
          non2xx,
          rps: (latencies.length / elapsed) * 1000,
          p50: at(50),
          p90: at(90),
          p99: at(99),
        }),
      );
      agent.destroy();
    }, 20);
  }
}, 1);
