import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { continueTrace, readTraceHeaders, sampleTraceId, traceHeaders } from "./trace-context.ts";

let counter = 0;
const randomHex = (bytes: number) => (++counter).toString(16).padStart(bytes * 2, "0");
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("trace context", () => {
  it("starts a trace when none came in, and writes W3C and both B3 forms", () => {
    const hop = continueTrace(readTraceHeaders({}), { samplingPercentage: 100, randomHex });
    expect(hop.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(hop.parentSpanId).toBeUndefined();
    const headers = traceHeaders(hop);
    expect(headers.traceparent).toBe(`00-${hop.traceId}-${hop.spanId}-01`);
    expect(headers.b3).toBe(`${hop.traceId}-${hop.spanId}-1`);
    expect(headers["x-b3-traceid"]).toBe(hop.traceId);
    expect(headers["x-b3-sampled"]).toBe("1");
    expect(headers["x-b3-parentspanid"]).toBeUndefined();
  });

  it("continues a W3C trace with a new span whose parent is the caller's, keeping tracestate", () => {
    const incoming = readTraceHeaders({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: "vendor=x" });
    const hop = continueTrace(incoming, { samplingPercentage: 0, randomHex });
    expect(hop).toMatchObject({ traceId: TRACE, parentSpanId: SPAN, sampled: true, tracestate: "vendor=x" });
    expect(hop.spanId).not.toBe(SPAN);
    const headers = traceHeaders(hop);
    expect(headers["x-b3-parentspanid"]).toBe(SPAN);
    expect(headers.b3).toBe(`${TRACE}-${hop.spanId}-1-${SPAN}`);
    expect(headers.tracestate).toBe("vendor=x");
  });

  it("honours the caller's 'not sampled' whatever the percentage", () => {
    const hop = continueTrace(readTraceHeaders({ traceparent: `00-${TRACE}-${SPAN}-00` }), {
      samplingPercentage: 100,
      randomHex,
    });
    expect(hop.sampled).toBe(false);
    expect(traceHeaders(hop).traceparent).toMatch(/-00$/);
    const denied = continueTrace(readTraceHeaders({ b3: "0" }), { samplingPercentage: 100, randomHex });
    expect(denied.sampled).toBe(false);
  });

  it("reads B3 single and multi headers, 64-bit ids and the debug flag", () => {
    expect(readTraceHeaders({ b3: `${TRACE}-${SPAN}-d` }).trace).toMatchObject({
      sampled: true,
      debug: true,
    });
    expect(readTraceHeaders({ "x-b3-traceid": "a3ce929d0e0e4736", "x-b3-spanid": SPAN }).trace).toEqual({
      traceId: "0000000000000000a3ce929d0e0e4736",
      spanId: SPAN,
    });
    const multi = readTraceHeaders({ "x-b3-traceid": TRACE, "x-b3-spanid": SPAN, "x-b3-sampled": "0" });
    expect(multi.trace?.sampled).toBe(false);
  });

  it("ignores malformed headers", () => {
    expect(readTraceHeaders({ traceparent: `00-${"0".repeat(32)}-${SPAN}-01` })).toEqual({});
    expect(readTraceHeaders({ traceparent: `ff-${TRACE}-${SPAN}-01` })).toEqual({});
    expect(readTraceHeaders({ traceparent: `00-${TRACE}-${SPAN}-01-extra` })).toEqual({});
    expect(readTraceHeaders({ b3: "garbage-x" })).toEqual({});
  });

  it("decides sampling by trace id, so proxies agree and the rate is about the percentage", () => {
    let sampled = 0;
    for (let i = 0; i < 10_000; i++) {
      const hex = randomBytes(16).toString("hex");
      if (sampleTraceId(hex, 10)) sampled++;
      expect(sampleTraceId(hex, 10)).toBe(sampleTraceId(hex, 10));
    }
    expect(sampled).toBeGreaterThan(700);
    expect(sampled).toBeLessThan(1300);
    expect(sampleTraceId(TRACE, 0)).toBe(false);
    expect(sampleTraceId(TRACE, 100)).toBe(true);
  });
});
