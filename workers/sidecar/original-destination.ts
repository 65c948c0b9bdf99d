import type { Cluster, Endpoint } from "../../control/compile/snapshot.ts";
import { authorityPort, stripPort } from "../engine/index.ts";
import { respondLocally } from "./local-response.ts";
import type { Layer } from "./proxy-context.ts";

/**
 * Gives an original-destination cluster (ServiceEntry `resolution: NONE`, the ALLOW_ANY
 * `PassthroughCluster`) its one endpoint: the host and port the request was addressed to (its
 * authority; no port: the cluster's port, else 80/443 by scheme), as Envoy's ORIGINAL_DST does
 * with the connection's original address. A host name is resolved when the proxy connects. A
 * request addressed to the listener it arrived on is answered 502 `NR`: forwarding it would loop
 * (Istio blackholes its outbound port 15001 for the same reason).
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), answerWithoutUpstream(), routeToOriginalDestination()], forward);
 * ```
 */
export function routeToOriginalDestination(): Layer {
  return (next) => async (ctx) => {
    const cluster = ctx.cluster;
    if (!cluster?.originalDestination) return next(ctx);
    const target = withOriginalDestination(cluster, ctx.authority, ctx.scheme === "https" ? 443 : 80);
    const [endpoint] = target.endpoints;
    if (endpoint && isListenerItself(endpoint, ctx.req.socket))
      return respondLocally(
        ctx,
        502,
        "NR",
        `"${ctx.authority}" is this proxy's own listener; forwarding the request there would loop`,
      );
    ctx.cluster = target;
    return next(ctx);
  };
}

/**
 * The cluster with the addressed host and port as its only endpoint when it is an
 * original-destination cluster (HTTP requests and TCP tunnels alike); any other cluster unchanged.
 * `fallbackPort` applies when neither the authority nor the cluster names a port.
 *
 * @example
 * ```ts
 * withOriginalDestination(passthrough, "db.example.com:5432", 80).endpoints;
 * // [{ address: "db.example.com", port: 5432, labels: {} }]
 * ```
 */
export function withOriginalDestination(cluster: Cluster, authority: string, fallbackPort: number): Cluster {
  if (!cluster.originalDestination) return cluster;
  const host = stripPort(authority).replace(/^\[(.*)\]$/, "$1");
  const port = authorityPort(authority) || cluster.port || fallbackPort;
  return { ...cluster, endpoints: [{ address: host, port, labels: {} }] };
}

/**
 * True when an original destination is the listener the connection arrived on: its port, and a
 * loopback or unspecified address or the listener's own (a host name other than `localhost` is not
 * resolved here).
 *
 * @example
 * ```ts
 * isListenerItself({ address: "127.0.0.1", port: 15001, labels: {} }, { localAddress: "127.0.0.1", localPort: 15001 }); // true
 * ```
 */
export function isListenerItself(
  endpoint: Pick<Endpoint, "address" | "port">,
  socket: { localAddress?: string | undefined; localPort?: number | undefined },
): boolean {
  if (socket.localPort === undefined || endpoint.port !== socket.localPort) return false;
  const host = endpoint.address.toLowerCase();
  const local = socket.localAddress?.replace(/^::ffff:/, "");
  return (
    host === local ||
    host === "localhost" ||
    host === "::1" ||
    host === "0.0.0.0" ||
    host === "::" ||
    /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}
