import { decideFault, faultAbortAnswer } from "../engine/index.ts";
import { respondLocally } from "./local-response.ts";
import { addFlag, type Handler, type Layer, type ProxyContext } from "./proxy-context.ts";

/**
 * Injects the matched route's `fault` (Envoy's fault filter): first the delay for its share of
 * requests (flag `DI`; the upstream's answer is still returned), then the abort for its share
 * (the proxy answers the configured status, flag `FI`; a gRPC abort is a 200 with
 * `grpc-status`). A client that leaves during the delay ends the request (`DC`).
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), applyCorsPolicy(), injectFaults(Math.random)], forward);
 * ```
 */
export function injectFaults(random: () => number): Layer {
  const inject = async (ctx: ProxyContext, next: Handler) => {
    const fault = decideFault(ctx.route?.fault, random);
    if (fault.delayMs !== undefined) {
      addFlag(ctx, "DI");
      await delay(ctx, fault.delayMs);
      if (ctx.abort.signal.aborted) return;
    }
    if (fault.abort) {
      const answer = faultAbortAnswer(fault.abort);
      respondLocally(ctx, answer.status, "FI", answer.body, answer.headers);
      return;
    }
    return next(ctx);
  };
  // Most routes inject nothing: they pass straight on, without an async step per request.
  return (next) => (ctx) => (ctx.route?.fault ? inject(ctx, next) : next(ctx));
}

/** Waits `ms`, or less if the request is aborted meanwhile. */
function delay(ctx: ProxyContext, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      ctx.abort.signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    ctx.abort.signal.addEventListener("abort", done, { once: true });
  });
}
