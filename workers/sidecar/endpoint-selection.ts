import type { Layer, UpstreamAddress } from "./proxy-context.ts";

/**
 * Sends every request to one fixed address: the inbound side's local app. (Outbound endpoints are
 * picked per attempt by `forwardWithRetries` in `upstream-retry.ts`.)
 *
 * @example
 * ```ts
 * compose([targetLocalApp({ address: "127.0.0.1", port: 9080 })], forwardUpstream(pool));
 * ```
 */
export function targetLocalApp(app: UpstreamAddress): Layer {
  return (next) => (ctx) => {
    ctx.endpoint = app;
    return next(ctx);
  };
}
