import type { Logger } from "../../broker/logger.ts";
import { respondLocally } from "./local-response.ts";
import type { Layer } from "./proxy-context.ts";

/**
 * Turns a bug in a layer into a logged 500 for this one request instead of a crashed proxy.
 *
 * @example
 * ```ts
 * compose([catchInternalErrors(console)], forward);
 * ```
 */
export function catchInternalErrors(log: Logger): Layer {
  return (next) => async (ctx) => {
    try {
      await next(ctx);
    } catch (error) {
      log.error(
        `sidecar ${ctx.direction} ${ctx.req.method} ${ctx.authority}${ctx.path}: internal error: ${String(error)}`,
      );
      respondLocally(ctx, 500, undefined, "internal proxy error");
    }
  };
}
