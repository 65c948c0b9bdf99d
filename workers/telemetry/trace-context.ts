/**
 * Trace context across hops, in both formats Istio users send: W3C (`traceparent`, `tracestate`)
 * and Zipkin B3 (multi-header `x-b3-*` and single `b3`). Each proxy hop continues the incoming trace
 * with a new span whose parent is the caller's span, or starts a trace when none came in, and
 * writes every format so any downstream tracer can pick it up. Pure: randomness is passed in.
 */

/** The trace context of one hop: its own span, and the caller's span as parent. */
export interface TraceContext {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** This hop's span, 16 hex digits. */
  spanId: string;
  /** The caller's span; absent for the first hop of a trace. */
  parentSpanId?: string;
  sampled: boolean;
  /** B3 debug flag (`x-b3-flags: 1` / `b3: ...-d-...`): always sampled. */
  debug?: boolean;
  /** W3C tracestate, carried unchanged. */
  tracestate?: string;
}

/** A trace context received from the caller. */
export interface IncomingTrace {
  traceId: string;
  /** The caller's span id (this hop's parent). */
  spanId: string;
  /** The caller's sampling decision, when it made one. */
  sampled?: boolean;
  debug?: boolean;
  tracestate?: string;
}

/** Every header this module reads or writes (lower-case). */
export const TRACE_HEADERS = [
  "traceparent",
  "tracestate",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
] as const;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = "0".repeat(32);
const ZERO16 = "0".repeat(16);
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * Reads the caller's trace context: `traceparent` first, then `b3`, then `x-b3-*`; malformed
 * headers are ignored (a new trace starts). A sampling decision without ids (`b3: 0`,
 * `x-b3-sampled: 0` alone) is kept as `{ sampled }` in the second result.
 *
 * @example
 * ```ts
 * readTraceHeaders({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
 * // { trace: { traceId: "4bf9…", spanId: "00f067aa0ba902b7", sampled: true } }
 * ```
 */
export function readTraceHeaders(headers: Readonly<Record<string, string | undefined>>): {
  trace?: IncomingTrace;
  sampled?: boolean;
} {
  const w3c = readTraceparent(headers.traceparent, headers.tracestate);
  if (w3c) return { trace: w3c };
  const single = headers.b3?.trim().toLowerCase();
  if (single) {
    const parsed = readB3Single(single);
    if (parsed) return parsed;
  }
  const traceId = normaliseTraceId(headers["x-b3-traceid"]);
  const spanId = headers["x-b3-spanid"]?.trim().toLowerCase();
  const debug = headers["x-b3-flags"]?.trim() === "1";
  const sampled = debug ? true : b3Sampled(headers["x-b3-sampled"]);
  if (traceId && spanId && HEX16.test(spanId) && spanId !== ZERO16) {
    return {
      trace: { traceId, spanId, ...(sampled === undefined ? {} : { sampled }), ...(debug ? { debug } : {}) },
    };
  }
  return sampled === undefined ? {} : { sampled };
}

function readTraceparent(
  value: string | undefined,
  tracestate: string | undefined,
): IncomingTrace | undefined {
  const match = value ? TRACEPARENT.exec(value.trim().toLowerCase()) : null;
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === "ff" || traceId === ZERO32 || spanId === ZERO16) return undefined;
  // Version 00 has exactly four fields; later versions may append more, which we ignore.
  if (version === "00" && value?.trim().length !== 55) return undefined;
  const state = tracestate?.trim();
  return {
    traceId,
    spanId,
    sampled: (Number.parseInt(flags, 16) & 1) === 1,
    ...(state ? { tracestate: state } : {}),
  };
}

function readB3Single(value: string): { trace?: IncomingTrace; sampled?: boolean } | undefined {
  const parts = value.split("-");
  if (parts.length === 1) {
    const sampled = b3Sampled(parts[0]);
    return parts[0] === "d" ? { sampled: true } : sampled === undefined ? undefined : { sampled };
  }
  const [rawTraceId, spanId, flag] = parts;
  const traceId = normaliseTraceId(rawTraceId);
  if (!traceId || !spanId || !HEX16.test(spanId) || spanId === ZERO16) return undefined;
  const debug = flag === "d";
  const sampled = debug ? true : b3Sampled(flag);
  return {
    trace: { traceId, spanId, ...(sampled === undefined ? {} : { sampled }), ...(debug ? { debug } : {}) },
  };
}

function b3Sampled(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === "1" || v === "true" || v === "d") return true;
  if (v === "0" || v === "false") return false;
  return undefined;
}

/** B3 allows 64-bit trace ids; W3C needs 128 bits, so they are left-padded with zeros. */
function normaliseTraceId(value: string | undefined): string | undefined {
  const v = value?.trim().toLowerCase();
  if (!v) return undefined;
  const padded = /^[0-9a-f]{16}$/.test(v) ? `${ZERO16}${v}` : v;
  return HEX32.test(padded) && padded !== ZERO32 ? padded : undefined;
}

/**
 * Sampling decided by the trace id alone, so every proxy with the same percentage agrees without
 * coordination: the trace id's low 56 bits (random in W3C ids) as a fraction of 2^56.
 *
 * @example
 * ```ts
 * sampleTraceId("…", 100); // true
 * ```
 */
export function sampleTraceId(traceId: string, percentage: number): boolean {
  if (percentage <= 0) return false;
  if (percentage >= 100) return true;
  const low = Number.parseInt(traceId.slice(-14), 16);
  return low / 2 ** 56 < percentage / 100;
}

/**
 * The trace context of this hop: continues the caller's trace with a new span (parent = the
 * caller's span) and honours its sampling decision; otherwise starts a trace, sampled at
 * `samplingPercentage` (decided by trace id, see {@link sampleTraceId}).
 *
 * @example
 * ```ts
 * const hop = continueTrace(readTraceHeaders(headers), { samplingPercentage: 1, randomHex });
 * Object.assign(upstreamHeaders, traceHeaders(hop));
 * ```
 */
export function continueTrace(
  incoming: { trace?: IncomingTrace; sampled?: boolean },
  opts: { samplingPercentage: number; randomHex: (bytes: number) => string },
): TraceContext {
  const spanId = newId(opts.randomHex, 8);
  const trace = incoming.trace;
  if (trace) {
    return {
      traceId: trace.traceId,
      spanId,
      parentSpanId: trace.spanId,
      sampled: trace.sampled ?? sampleTraceId(trace.traceId, opts.samplingPercentage),
      ...(trace.debug ? { debug: true } : {}),
      ...(trace.tracestate ? { tracestate: trace.tracestate } : {}),
    };
  }
  const traceId = newId(opts.randomHex, 16);
  return { traceId, spanId, sampled: incoming.sampled ?? sampleTraceId(traceId, opts.samplingPercentage) };
}

function newId(randomHex: (bytes: number) => string, bytes: number): string {
  for (;;) {
    const id = randomHex(bytes).toLowerCase();
    if (/[1-9a-f]/.test(id)) return id;
  }
}

/**
 * The headers that carry a hop's context upstream, in W3C and both B3 forms.
 *
 * @example
 * ```ts
 * traceHeaders({ traceId, spanId, parentSpanId, sampled: true });
 * // { traceparent: "00-…-01", b3: "…-…-1-…", "x-b3-traceid": …, "x-b3-spanid": …, "x-b3-parentspanid": …, "x-b3-sampled": "1" }
 * ```
 */
export function traceHeaders(context: TraceContext): Record<string, string> {
  const flag = context.sampled ? "1" : "0";
  const headers: Record<string, string> = {
    traceparent: `00-${context.traceId}-${context.spanId}-0${flag}`,
    b3: [context.traceId, context.spanId, context.debug ? "d" : flag, context.parentSpanId]
      .filter((part) => part !== undefined)
      .join("-"),
    "x-b3-traceid": context.traceId,
    "x-b3-spanid": context.spanId,
    "x-b3-sampled": flag,
  };
  if (context.parentSpanId) headers["x-b3-parentspanid"] = context.parentSpanId;
  if (context.debug) headers["x-b3-flags"] = "1";
  if (context.tracestate) headers.tracestate = context.tracestate;
  return headers;
}
