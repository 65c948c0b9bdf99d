import { hostMatches } from "../../control/compile/host-names.ts";
import type { GatewayServerConfig } from "../../control/compile/snapshot.ts";
import { stripPort } from "../engine/index.ts";
import { respondLocally } from "../sidecar/local-response.ts";
import type { Layer } from "../sidecar/proxy-context.ts";

/**
 * Routes a request only when a server of the listener's port has its host among its hosts, as
 * Istio builds one route configuration per gateway port: a host exposed on another port only is
 * answered 404 `NR` here.
 *
 * @example
 * ```ts
 * createOutboundPipeline({ ...deps, admitTarget: admitServerHosts(() => serversOf(443), 443) });
 * ```
 */
export function admitServerHosts(servers: () => readonly GatewayServerConfig[], port: number): Layer {
  return (next) => async (ctx) => {
    const host = stripPort(ctx.authority.toLowerCase());
    if (servers().some((server) => server.hosts.some((h) => hostMatches(h, host)))) return next(ctx);
    respondLocally(ctx, 404, "NR", `no server of gateway port ${port} serves host "${host}"`);
  };
}
