import { parseDurationMs } from "../model/duration.ts";
import type { IstioDestination } from "../model/istio-fields.ts";
import type { HttpRoute } from "../model/virtual-service.ts";
import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { selectDestinationPolicy } from "./destination-policy.ts";
import { resolveHost } from "./host-names.ts";
import type { IndexedVirtualService, ResourceIndex } from "./resource-index.ts";
import { toRouteMatches } from "./route-match.ts";
import {
  compileCors,
  compileFault,
  compileHeaders,
  compileRedirect,
  compileRetries,
  compileUriRewrite,
  NO_RETRIES,
} from "./route-policies.ts";
import type {
  Diagnostic,
  HeaderPolicy,
  MirrorPolicy,
  ProxyIdentity,
  RewritePolicy,
  Route,
  RouteAction,
  RouteMatch,
  UriRewrite,
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
  ports: readonly number[];
}

/** Fields Jibe accepts but does not act on (Envoy features Jibe has no equivalent of yet). */
const UNENFORCED_RETRY_FIELDS = ["retryRemoteLocalities", "retryIgnorePreviousHosts"] as const;

/**
 * Compiles one `http` rule of a VirtualService into snapshot routes for this proxy: usually one;
 * none when its matches do not apply to this proxy; one per port when a destination has several
 * ports and names none (the request's port picks the cluster, as Istio's listener port does);
 * one per match block when it rewrites the uri (each block's matched prefix is what gets
 * replaced, as Istio emits one Envoy route per block).
 *
 * Broken destinations (unknown subset, port or host) stay in the route with a cluster name that
 * has no cluster, so their share of traffic answers 503: the route fails closed, the others keep
 * working. A fault disables the rule's timeout and retries, as Istio documents.
 */
export function compileHttpRoute(
  vs: IndexedVirtualService,
  ruleIndex: number,
  rule: HttpRoute,
  ctx: RouteContext,
  /** `tcp` for a VirtualService `tcp` rule (only `match` and `route`): paths and origins name it. */
  section: "http" | "tcp" = "http",
): Route[] {
  const path = `spec.${section}[${ruleIndex}]`;
  const matches = toRouteMatches(rule.match, vs.namespace, ctx.proxy);
  if (!matches) return [];
  const origin = section === "http" ? `${vs.ref}#${ruleIndex}` : `${vs.ref}#tcp${ruleIndex}`;
  warnUnenforced(vs, rule, path, ctx);
  const headers = compileHeaders(rule.headers);
  const hostHeader = takeHostHeader(headers);
  const fault = compileFault(rule.fault);
  const cors = compileCors(rule.corsPolicy);
  const base = (match: RouteMatch[], action: RouteAction): Route => ({
    origin,
    ...(rule.name ? { name: rule.name } : {}),
    match,
    action,
    ...(headers ? { headers } : {}),
    ...(fault ? { fault } : {}),
    ...(cors ? { cors } : {}),
  });
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
  if (rule.redirect) return [base(matches, { kind: "redirect", redirect: compileRedirect(rule.redirect) })];
  if (fault && (rule.timeout !== undefined || rule.retries !== undefined)) {
    ctx.diagnostics.push(
      compileDiagnostic(
        "warning",
        "JIBE2013",
        vs.ref,
        `${path}.fault`,
        "this rule injects faults, so its timeout and retries are not applied (as in Istio); move the fault to a rule of its own to keep them",
      ),
    );
  }
  const destinations = (rule.route ?? []).flatMap((entry, i) => {
    // Istio: a single destination takes all traffic whatever its weight; zero weights get none.
    const weight = rule.route?.length === 1 ? 100 : (entry.weight ?? 0);
    if (weight <= 0) return [];
    const resolved = resolveDestination(vs, entry.destination, `${path}.route[${i}].destination`, ctx);
    const destHeaders = compileHeaders(entry.headers);
    return [{ ...resolved, weight, headers: destHeaders }];
  });
  const mirrors = mirrorsOf(rule).map((m) => ({
    ...resolveDestination(vs, m.destination, `${path}.${m.at}`, ctx),
    percentage: m.percentage,
  }));
  const timeoutMs = !fault && rule.timeout ? parseDurationMs(rule.timeout) : undefined;
  const retries = fault ? NO_RETRIES : compileRetries(rule.retries);
  const rewriteAuthority = rule.rewrite?.authority ?? hostHeader;
  const action = (port: number | undefined, uri: UriRewrite | undefined): RouteAction => {
    const rewrite: RewritePolicy = {
      ...(uri ? { uri } : {}),
      ...(rewriteAuthority ? { authority: rewriteAuthority } : {}),
    };
    const mirrorPolicies = mirrors.map(
      (m): MirrorPolicy => ({
        cluster: clusterName(m.port ?? port ?? m.ports[0] ?? 80, m.subset, m.host),
        percentage: m.percentage,
      }),
    );
    return {
      kind: "route",
      destinations: destinations.map(
        (d): WeightedCluster => ({
          cluster: clusterName(d.port ?? port ?? 80, d.subset, d.host),
          weight: d.weight,
          ...(d.headers ? { headers: d.headers } : {}),
        }),
      ),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(retries ? { retries } : {}),
      ...(rewrite.uri || rewrite.authority ? { rewrite } : {}),
      ...(mirrorPolicies.length > 0 ? { mirrors: mirrorPolicies } : {}),
    };
  };
  const rewrite = rule.rewrite;
  const groups =
    rewrite && (rewrite.uri || rewrite.uriRegexRewrite) && matches.length > 1
      ? matches.map((m) => [m])
      : [matches];
  const perPort = destinations.filter((d) => d.port === undefined);
  const ports =
    perPort.length === 0
      ? [undefined]
      : ctx.hostPorts.length > 0
        ? ctx.hostPorts
        : [...new Set(perPort.flatMap((d) => d.ports))];
  const routes: Route[] = [];
  for (const group of groups) {
    const uri = rewrite ? compileUriRewrite(rewrite, group[0]) : undefined;
    for (const port of ports) {
      if (port === undefined) {
        routes.push(base(group, action(undefined, uri)));
        continue;
      }
      const restricted = restrictToPort(group, port);
      if (restricted) routes.push(base(restricted, action(port, uri)));
    }
  }
  return routes;
}

/** Istio turns a request `set` of `host`/`:authority` into an authority rewrite. */
function takeHostHeader(headers: HeaderPolicy | undefined): string | undefined {
  const set = headers?.request?.set;
  if (!set) return undefined;
  const value = set[":authority"] ?? set.host;
  delete set[":authority"];
  delete set.host;
  return value;
}

/** `mirror` + `mirrorPercentage` (100% when unset) or `mirrors`, each with its field path. */
function mirrorsOf(rule: HttpRoute): { destination: IstioDestination; percentage: number; at: string }[] {
  if (rule.mirror) {
    const percentage = rule.mirrorPercentage?.value ?? rule.mirrorPercent ?? 100;
    return percentage > 0 ? [{ destination: rule.mirror, percentage, at: "mirror" }] : [];
  }
  return (rule.mirrors ?? [])
    .map((m, i) => ({
      destination: m.destination,
      percentage: m.percentage?.value ?? 100,
      at: `mirrors[${i}].destination`,
    }))
    .filter((m) => m.percentage > 0);
}

function restrictToPort(matches: RouteMatch[], port: number): RouteMatch[] | undefined {
  if (matches.length === 0) return [{ port }];
  const kept = matches.filter((m) => m.port === undefined || m.port === port).map((m) => ({ ...m, port }));
  return kept.length > 0 ? kept : undefined;
}

function resolveDestination(
  vs: IndexedVirtualService,
  dest: IstioDestination,
  at: string,
  ctx: RouteContext,
): ResolvedDestination {
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
  return { host, port, subset: dest.subset, ports: ports.length > 0 ? ports : [80] };
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
  for (const field of UNENFORCED_RETRY_FIELDS)
    if (rule.retries?.[field] !== undefined) warn(`retries.${field}`, field);
}

function decodeBase64(text: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
  } catch {
    return "";
  }
}
