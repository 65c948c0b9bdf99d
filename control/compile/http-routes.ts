import { parseDurationMs } from "../model/duration.ts";
import type { HttpRoute, HttpRouteDestination } from "../model/virtual-service.ts";
import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { selectDestinationPolicy } from "./destination-policy.ts";
import { resolveHost } from "./host-names.ts";
import type { IndexedVirtualService, ResourceIndex } from "./resource-index.ts";
import { toRouteMatches } from "./route-match.ts";
import type {
  Diagnostic,
  ProxyIdentity,
  Route,
  RouteAction,
  RouteMatch,
  WeightedCluster,
} from "./snapshot.ts";

/** What compiling one virtual host's routes needs and collects. */
export interface RouteContext {
  index: ResourceIndex;
  proxy: ProxyIdentity;
  suffix: string;
  /** Ports of the Service the virtual host belongs to: the port a request arrived for. */
  hostPorts: readonly number[];
  diagnostics: Diagnostic[];
}

/** A destination resolved to a cluster; `port: undefined` means "the port the request came in on". */
interface ResolvedDestination {
  host: string;
  port: number | undefined;
  subset: string | undefined;
  weight: number;
  ports: readonly number[];
}

const UNENFORCED = [
  "retries",
  "mirror",
  "mirrors",
  "mirrorPercentage",
  "mirrorPercent",
  "corsPolicy",
  "headers",
  "rewrite",
] as const;

/**
 * Compiles one `http` rule of a VirtualService into snapshot routes for this proxy: usually one;
 * none when its matches do not apply to this proxy; one per port when a destination has several
 * ports and names none (the request's port picks the cluster, as Istio's listener port does).
 *
 * Broken destinations (unknown subset, port or host) stay in the route with a cluster name that
 * has no cluster, so their share of traffic answers 503: the route fails closed, the others keep
 * working. A 100% abort fault becomes a direct response, as Envoy's fault filter answers it.
 */
export function compileHttpRoute(
  vs: IndexedVirtualService,
  ruleIndex: number,
  rule: HttpRoute,
  ctx: RouteContext,
): Route[] {
  const path = `spec.http[${ruleIndex}]`;
  const matches = toRouteMatches(rule.match, vs.namespace, ctx.proxy);
  if (!matches) return [];
  const origin = `${vs.ref}#${ruleIndex}`;
  const base = (match: RouteMatch[], action: RouteAction): Route => ({
    origin,
    ...(rule.name ? { name: rule.name } : {}),
    match,
    action,
  });
  warnUnenforced(vs, rule, path, ctx);
  if (rule.directResponse) {
    const body = rule.directResponse.body;
    const text = body?.string ?? (body?.bytes !== undefined ? decodeBase64(body.bytes) : undefined);
    return [
      base(matches, {
        kind: "directResponse",
        status: rule.directResponse.status,
        ...(text !== undefined ? { body: text } : {}),
      }),
    ];
  }
  if (rule.redirect) {
    ctx.diagnostics.push(
      compileDiagnostic(
        "warning",
        "JIBE2009",
        vs.ref,
        `${path}.redirect`,
        "redirect is not supported by Jibe yet; this rule answers 503 until it is (use a route instead)",
      ),
    );
    return [
      base(matches, {
        kind: "directResponse",
        status: 503,
        body: "redirect is not supported by this proxy yet",
      }),
    ];
  }
  const abort = rule.fault?.abort;
  if (abort?.httpStatus !== undefined && (abort.percentage?.value ?? 0) >= 100) {
    return [base(matches, { kind: "directResponse", status: abort.httpStatus, body: "fault filter abort" })];
  }
  const destinations = resolveDestinations(vs, rule.route ?? [], path, ctx);
  const timeoutMs = rule.timeout ? parseDurationMs(rule.timeout) : undefined;
  const action = (port: number | undefined): RouteAction => ({
    kind: "route",
    destinations: destinations.map(
      (d): WeightedCluster => ({
        cluster: clusterName(d.port ?? port ?? 80, d.subset, d.host),
        weight: d.weight,
      }),
    ),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  const perPort = destinations.filter((d) => d.port === undefined);
  if (perPort.length === 0) return [base(matches, action(undefined))];
  const ports = ctx.hostPorts.length > 0 ? ctx.hostPorts : [...new Set(perPort.flatMap((d) => d.ports))];
  const routes: Route[] = [];
  for (const port of ports) {
    const restricted = restrictToPort(matches, port);
    if (restricted) routes.push(base(restricted, action(port)));
  }
  return routes;
}

function restrictToPort(matches: RouteMatch[], port: number): RouteMatch[] | undefined {
  if (matches.length === 0) return [{ port }];
  const kept = matches.filter((m) => m.port === undefined || m.port === port).map((m) => ({ ...m, port }));
  return kept.length > 0 ? kept : undefined;
}

function resolveDestinations(
  vs: IndexedVirtualService,
  list: readonly HttpRouteDestination[],
  path: string,
  ctx: RouteContext,
): ResolvedDestination[] {
  const out: ResolvedDestination[] = [];
  list.forEach((entry, i) => {
    // Istio: a single destination takes all traffic whatever its weight; zero weights get none.
    const weight = list.length === 1 ? 100 : (entry.weight ?? 0);
    if (weight <= 0) return;
    const at = `${path}.route[${i}].destination`;
    const dest = entry.destination;
    const host = resolveHost(dest.host, vs.namespace, ctx.suffix);
    const service = ctx.index.services.get(host);
    const ports = service?.ports.map((p) => p.port) ?? [];
    let port = dest.port?.number;
    if (!service) {
      ctx.diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2002",
          vs.ref,
          `${at}.host`,
          `host "${dest.host}" (${host}) is not a known Service; requests routed there answer 503 until a Service named so is applied`,
        ),
      );
    } else if (port !== undefined && !ports.includes(port)) {
      ctx.diagnostics.push(
        compileDiagnostic(
          "error",
          "JIBE2003",
          vs.ref,
          `${at}.port.number`,
          `port ${port} is not a port of ${service.ref} (ports: ${ports.join(", ")}); requests routed there answer 503; use one of its ports`,
        ),
      );
    } else if (port === undefined && ports.length === 1) {
      port = ports[0];
    }
    if (dest.subset !== undefined && service) {
      const policy = selectDestinationPolicy(ctx.index, host, service.namespace, ctx.proxy);
      if (!policy?.subsets.has(dest.subset)) {
        const known = policy ? [...policy.subsets.keys()].join(", ") || "none" : "no DestinationRule";
        ctx.diagnostics.push(
          compileDiagnostic(
            "error",
            "JIBE2001",
            vs.ref,
            `${at}.subset`,
            `subset "${dest.subset}" of ${host} is not defined by any DestinationRule (${known}); requests routed there answer 503 until a DestinationRule for host "${dest.host}" defines it`,
          ),
        );
      }
    }
    out.push({ host, port, subset: dest.subset, weight, ports: ports.length > 0 ? ports : [80] });
  });
  return out;
}

function warnUnenforced(vs: IndexedVirtualService, rule: HttpRoute, path: string, ctx: RouteContext): void {
  const warn = (field: string, what: string) =>
    ctx.diagnostics.push(
      compileDiagnostic(
        "warning",
        "JIBE2008",
        vs.ref,
        `${path}.${field}`,
        `${what} is accepted but not enforced by Jibe yet`,
      ),
    );
  for (const field of UNENFORCED) if (rule[field] !== undefined) warn(field, field);
  if (rule.route?.some((d) => d.headers)) warn("route", "per-destination headers");
  const fault = rule.fault;
  const abortShare = fault?.abort?.percentage?.value ?? 0;
  if (fault?.abort && abortShare > 0 && abortShare < 100)
    warn("fault.abort", `an abort fault for ${abortShare}% of requests (only 100% is enforced)`);
  if (fault?.delay && (fault.delay.percentage?.value ?? fault.delay.percent ?? 0) > 0)
    warn("fault.delay", "a delay fault");
}

function decodeBase64(text: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
  } catch {
    return "";
  }
}
