import { describe, expect, it } from "vitest";
import { parseH2load } from "./h2-load.ts";

/** h2load 1.52's report (nghttp2-client, Debian 12) for a timed run, as it prints it. */
const report = `starting benchmark...
spawning thread #0: 4 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 2.00s, 196.00 req/s, 201.44KB/s
requests: 392 total, 400 started, 392 done, 390 succeeded, 2 failed, 1 errored, 0 timeout
status codes: 391 2xx, 0 3xx, 0 4xx, 1 5xx
traffic: 402.89KB (412556) total, 3.77KB (3864) headers (space savings 87.36%), 392.00KB (401408) data
                     min         max         mean         sd        +/- sd
time for request:      191us     40.98ms      2.00ms      4.57ms    96.94%
`;

describe("parseH2load", () => {
  it("reads throughput, done requests and failures from the report, percentiles from the per-request log", () => {
    // start µs, status, duration µs: 100 requests of 1..100 ms.
    const log = Array.from({ length: 100 }, (_, i) => `17960165323036${i}\t200\t${(i + 1) * 1000}`).join(
      "\n",
    );
    const result = parseH2load(report, `${log}\n`);
    expect(result).toEqual({ rps: 196, requests: 392, errors: 2, p50: 50, p90: 90, p99: 99 });
  });

  it("refuses a report it does not understand instead of reporting zeros", () => {
    expect(() => parseH2load("connect: Connection refused\n", "")).toThrow(/h2load report not understood/);
  });
});
