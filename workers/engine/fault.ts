import type { FaultPolicy } from "../../control/compile/snapshot.ts";

/** What a fault does to one request: wait `delayMs` first, then maybe answer instead of the upstream. */
export interface FaultDecision {
  delayMs?: number;
  abort?: { httpStatus: number } | { grpcStatus: number };
}

/** A locally generated answer to an aborted request. */
export interface FaultAbortAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Envoy's body for fault-filter aborts. */
export const FAULT_ABORT_BODY = "fault filter abort";

/**
 * Draws the fault for one request: the delay and the abort each fire for their percentage of
 * requests, independently (two draws of `random()` in [0, 1)), as Envoy's fault filter does.
 *
 * @example
 * ```ts
 * decideFault({ abort: { percentage: 100, httpStatus: 500 } }, Math.random); // { abort: { httpStatus: 500 } }
 * decideFault({ delay: { fixedDelayMs: 7000, percentage: 0 } }, Math.random); // {}
 * ```
 */
export function decideFault(fault: FaultPolicy | undefined, random: () => number): FaultDecision {
  const out: FaultDecision = {};
  if (!fault) return out;
  if (fault.delay && fires(fault.delay.percentage, random)) out.delayMs = fault.delay.fixedDelayMs;
  const abort = fault.abort;
  if (abort && fires(abort.percentage, random)) {
    if (abort.httpStatus !== undefined) out.abort = { httpStatus: abort.httpStatus };
    else if (abort.grpcStatus !== undefined) out.abort = { grpcStatus: abort.grpcStatus };
  }
  return out;
}

function fires(percentage: number, random: () => number): boolean {
  if (percentage <= 0) return false;
  if (percentage >= 100) return true;
  return random() * 100 < percentage;
}

/**
 * The answer to an aborted request: the HTTP status, or for gRPC a trailers-only style 200 with
 * `grpc-status` (Envoy's gRPC abort).
 */
export function faultAbortAnswer(abort: NonNullable<FaultDecision["abort"]>): FaultAbortAnswer {
  if ("httpStatus" in abort) {
    return {
      status: abort.httpStatus,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: FAULT_ABORT_BODY,
    };
  }
  return {
    status: 200,
    headers: {
      "content-type": "application/grpc",
      "grpc-status": String(abort.grpcStatus),
      "grpc-message": FAULT_ABORT_BODY,
    },
    body: "",
  };
}
