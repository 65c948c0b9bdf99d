import type { IncomingMessage } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../../broker/logger.ts";
import type { Cluster, Endpoint, ProxyIdentity } from "../../control/compile/snapshot.ts";
import {
  decideTcpRoute,
  type LoadBalancerState,
  pickEndpoint,
  RESPONSE_FLAGS_HEADER,
  type ResponseFlag,
  ROUTE_HEADER,
} from "../engine/index.ts";
import {
  type DestinationService,
  UNKNOWN,
  type WorkloadMetadata,
  workloadMetadataOf,
} from "../telemetry/index.ts";
import { withOriginalDestination } from "./original-destination.ts";
import type { UpstreamAddress } from "./proxy-context.ts";
import type { RouteSource } from "./route-policy.ts";
import type { TcpConnectionMetrics, TcpMetrics } from "./tcp-metrics.ts";
import { dialTcp, spliceTcp } from "./tcp-splice.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "./upstream-forward.ts";
import type { UpstreamDial } from "./upstream-tls.ts";

/** What {@link createOutboundTcpProxy} needs. */
export interface OutboundTcpDeps extends TcpUpstreamDeps {
  proxy: ProxyIdentity;
  routes: RouteSource;
}

/** What forwarding TCP to a cluster's endpoints needs (the sidecar's and the gateway's alike). */
export interface TcpUpstreamDeps {
  lb: LoadBalancerState;
  random: () => number;
  /** How an endpoint is reached (auto-mTLS to sidecars); default plaintext. */
  upstreamAddress?: (cluster: Cluster, endpoint: Endpoint) => UpstreamAddress;
  dialerFor?: (endpoint: UpstreamAddress) => UpstreamDial;
  metrics: TcpMetrics;
  self: WorkloadMetadata;
  destinationService: (authority: string, routed: string | undefined) => DestinationService;
  log: Logger;
}

/**
 * The outbound side of TCP services: the app asks the outbound listener for a tunnel with HTTP
 * `CONNECT mysql:3306` (as any HTTP-proxy-aware client does); the engine routes it
 * (`decideTcpRoute`: VirtualService `tcp` rules with weights, else the Service's cluster), the load
 * balancer picks an endpoint, and the tunnel opens only once the endpoint is connected (mTLS to
 * sidecars under auto-mTLS), so a server-first protocol's greeting reaches the client at once.
 * A destination outside the registry is tunnelled to the address it names under ALLOW_ANY (the
 * sidecar default) and refused 502 `NR` under REGISTRY_ONLY. Refusals answer with Envoy's flags:
 * 404 / 502 `NR`, 503 `NC` / `UH` / `UF`.
 *
 * @example
 * ```ts
 * startListener({ ..., connect: createOutboundTcpProxy(deps) });
 * ```
 */
export function createOutboundTcpProxy(
  deps: OutboundTcpDeps,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const authority = (req.url ?? "").toLowerCase();
    void openTcpRoute(deps, authority, req.socket.remoteAddress).then((opened) => {
      if (opened.kind === "refused")
        return refuse(socket, opened.status, opened.flag, opened.message, opened.headers);
      if (socket.destroyed) {
        opened.upstream.destroy();
        return void opened.metrics.close();
      }
      socket.write(`HTTP/1.1 200 Connection Established\r\n${headerLines(opened.headers)}\r\n`);
      if (head.length > 0) opened.upstream.write(head);
      spliceTcp(socket, opened.upstream, opened.metrics);
    });
  };
}

/**
 * Serves one local TCP port bound to a service (`SidecarOptions.tcpUpstreams`), for clients that
 * cannot send `CONNECT` (a MySQL driver): each accepted connection is routed to `authority` as a
 * tunnel would be and spliced once the endpoint is connected; a refusal closes it.
 *
 * @example
 * ```ts
 * net.createServer(bindTcpUpstream(deps, "mysql:3306")).listen(13306, "127.0.0.1");
 * ```
 */
export function bindTcpUpstream(deps: OutboundTcpDeps, authority: string): (socket: Socket) => void {
  return (socket) => {
    socket.on("error", () => socket.destroy());
    socket.pause();
    void openTcpRoute(deps, authority.toLowerCase(), socket.remoteAddress).then((opened) => {
      if (opened.kind === "refused") {
        deps.log.debug(`outbound tcp ${authority}: ${opened.status} ${opened.flag} ${opened.message}`);
        return void socket.destroy();
      }
      if (socket.destroyed) {
        opened.upstream.destroy();
        return void opened.metrics.close();
      }
      spliceTcp(socket, opened.upstream, opened.metrics);
      socket.resume();
    });
  };
}

/** A routed, connected upstream with its metrics, or why there is none (Envoy's status and flag). */
type OpenedRoute =
  | { kind: "open"; upstream: Socket; metrics: TcpConnectionMetrics; headers: Record<string, string> }
  | { kind: "refused"; status: number; flag: ResponseFlag; message: string; headers: Record<string, string> };

/** Routes a connection to `authority` and connects to the endpoint the load balancer picks. */
async function openTcpRoute(
  deps: OutboundTcpDeps,
  authority: string,
  /** The client's address (`sourceSubnet`); the original destination is the authority's IP, if any. */
  sourceIp: string | undefined,
): Promise<OpenedRoute> {
  const { table } = deps.routes.current();
  const decision = decideTcpRoute(
    table,
    {
      authority,
      sourceLabels: deps.proxy.labels,
      sourceNamespace: deps.proxy.namespace,
      ...(sourceIp ? { sourceIp } : {}),
    },
    deps.random,
  );
  const refused = (status: number, flag: ResponseFlag, message: string, headers = {}): OpenedRoute => ({
    kind: "refused",
    status,
    flag,
    message,
    headers,
  });
  if (decision.kind === "noRoute")
    return refused(404, "NR", `no route to "${authority}": ${decision.reason}`);
  const headers = { [ROUTE_HEADER]: decision.route.origin };
  if (decision.kind === "blocked")
    return refused(
      decision.status,
      "NR",
      `"${authority}" is not in the mesh registry (outboundTrafficPolicy REGISTRY_ONLY)`,
      headers,
    );
  if (decision.kind === "noCluster")
    return refused(503, "NC", `cluster ${decision.cluster} is not configured`, headers);
  // ALLOW_ANY's PassthroughCluster and resolution NONE: connect to the address the tunnel names.
  const cluster = withOriginalDestination(decision.cluster, authority, decision.cluster.port);
  const endpoint = pickEndpoint(cluster, deps.lb, deps.random);
  const record = (flags: string, peer?: WorkloadMetadata) =>
    deps.metrics.open({
      reporter: "source",
      self: deps.self,
      ...(peer ? { peer } : {}),
      connectionSecurityPolicy: "unknown",
      destinationService: deps.destinationService(authority, cluster.service),
      responseFlags: flags,
      upstreamCluster: cluster.name,
    });
  if (!endpoint) {
    record("UH").close();
    return refused(503, "UH", `no healthy endpoint in ${cluster.name}`, headers);
  }
  const address = deps.upstreamAddress?.(cluster, endpoint) ?? {
    address: endpoint.address,
    port: endpoint.port,
  };
  const peer = endpointWorkload(endpoint, cluster);
  const timeout = cluster.connectionPool?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    const upstream = await dialTcp(address, deps.dialerFor, timeout);
    return { kind: "open", upstream, metrics: record("-", peer), headers };
  } catch (error) {
    const target = `${address.address}:${address.port}`;
    deps.log.debug(`outbound tcp ${authority} → ${target}: ${(error as Error).message}`);
    record("UF", peer).close();
    return refused(503, "UF", `upstream connect error to ${target}: ${(error as Error).message}`, headers);
  }
}

/** What Istio would report of the destination workload from its endpoint labels (app, version). */
function endpointWorkload(endpoint: Endpoint, cluster: Cluster): WorkloadMetadata {
  const namespace = cluster.service.split(".")[1] ?? UNKNOWN;
  return workloadMetadataOf({ id: UNKNOWN, role: "sidecar", namespace, labels: endpoint.labels });
}

const REASONS: Record<number, string> = { 404: "Not Found", 502: "Bad Gateway" };

function refuse(
  socket: Duplex,
  status: number,
  flag: ResponseFlag,
  message: string,
  extra: Record<string, string> = {},
): void {
  const reason = REASONS[status] ?? "Service Unavailable";
  const body = `${message}\n`;
  const headers = {
    ...extra,
    [RESPONSE_FLAGS_HEADER]: flag,
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
  };
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${headerLines(headers)}\r\n${body}`);
}

function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
}

/** A local port bound to a TCP service, e.g. `{ authority: "mysql:3306", port: 13306 }` (0: any free port). */
export interface TcpUpstreamBinding {
  authority: string;
  port?: number;
}

/**
 * Opens one listener per binding on `host` ({@link bindTcpUpstream}); resolves with the bound ports
 * by authority and a `close()` that stops them and closes their connections.
 *
 * @example
 * ```ts
 * const bound = await startTcpBindings(deps, [{ authority: "mysql:3306", port: 13306 }], "127.0.0.1");
 * ```
 */
export async function startTcpBindings(
  deps: OutboundTcpDeps,
  bindings: readonly TcpUpstreamBinding[],
  host: string,
): Promise<{ ports: Record<string, number>; close(): Promise<void> }> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const ports: Record<string, number> = {};
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  };
  try {
    for (const binding of bindings) {
      const serve = bindTcpUpstream(deps, binding.authority);
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        serve(socket);
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(binding.port ?? 0, host, () => resolve());
      });
      ports[binding.authority] = (server.address() as AddressInfo).port;
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { ports, close };
}
