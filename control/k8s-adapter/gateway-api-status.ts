import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../compile/compile.ts";
import { acceptsRoute, listenerRouteKinds } from "../compile/gateway-api-units.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import {
  GATEWAY_API_GROUP,
  type HttpRouteApiSpec,
  isGatewayParent,
  isServiceParent,
  type KubernetesGatewaySpec,
  type ParentRef,
} from "../model/gateway-api.ts";
import type { KubeCondition } from "./accepted-condition.ts";
import type { KubeObjectLike } from "./mesh-documents.ts";

/**
 * Gateway API status as the Gateway API defines it, for the Gateways Jibe implements and the
 * HTTPRoutes attached to them (or, GAMMA, to Services). Nothing is re-decided here: whether a route
 * attaches (JIBE2060) and whether its backends resolve (JIBE2061) come from the compiler's
 * diagnostics: a compile for each Gateway's proxy and for the sidecars of each mesh route's namespace
 * (attachment), and one for a probe Gateway every route is attached to (backends, which the compiler
 * resolves only for routes that attach). Pure: the adapter writes what this returns.
 */

/** Jibe's `controllerName` (GatewayClass `spec.controllerName`, HTTPRoute `status.parents[].controllerName`). */
export const GATEWAY_CONTROLLER = "jibe.dev/gateway-controller";
/** A GatewayClass of this name belongs to Jibe whatever its controllerName (and when it does not exist). */
export const JIBE_GATEWAY_CLASS = "jibe";

/** A Gateway API condition: a `metav1.Condition` without its transition time (kept from the current status). */
export type Condition = Omit<KubeCondition, "lastTransitionTime">;

export interface GatewayApiInputs {
  gatewayClasses: readonly KubeObjectLike[];
  gateways: readonly KubeObjectLike[];
  routes: readonly KubeObjectLike[];
  /** GRPCRoutes, TCPRoutes and TLSRoutes (status parents as for HTTPRoutes). */
  grpcRoutes?: readonly KubeObjectLike[];
  tcpRoutes?: readonly KubeObjectLike[];
  tlsRoutes?: readonly KubeObjectLike[];
  /** What the mesh holds (what proxies compile). */
  resources: readonly StoredResource[];
}

/** The status each object should have: Gateways by `namespace/name`, routes' Jibe parents by `namespace/name`. */
export interface GatewayApiStatus {
  gateways: Map<string, { conditions: Condition[]; listeners: ListenerStatus[] }>;
  routes: Map<string, RouteParentStatus[]>;
  grpcRoutes: Map<string, RouteParentStatus[]>;
  tcpRoutes: Map<string, RouteParentStatus[]>;
  tlsRoutes: Map<string, RouteParentStatus[]>;
}

export interface ListenerStatus {
  name: string;
  supportedKinds: { group: string; kind: string }[];
  attachedRoutes: number;
  conditions: Condition[];
}

export interface RouteParentStatus {
  parentRef: ParentRef;
  controllerName: string;
  conditions: Condition[];
}

/** True when `className` names a GatewayClass Jibe implements. */
export function isJibeGatewayClass(className: string, classes: readonly KubeObjectLike[]): boolean {
  if (className === JIBE_GATEWAY_CLASS) return true;
  const found = classes.find((c) => c.metadata?.name === className);
  return (found?.spec as { controllerName?: string } | undefined)?.controllerName === GATEWAY_CONTROLLER;
}

const key = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace ?? "default"}/${o.metadata?.name ?? ""}`;

/**
 * The wanted status of every Jibe Gateway and of the Jibe parents of every HTTPRoute.
 *
 * @example
 * ```ts
 * const wanted = computeGatewayApiStatus({ gatewayClasses, gateways, routes, resources });
 * wanted.routes.get("default/bookinfo")?.[0]?.conditions; // [{ type: "Accepted", status: "True", ... }]
 * ```
 */
export function computeGatewayApiStatus(inputs: GatewayApiInputs): GatewayApiStatus {
  const published = new Set(
    inputs.resources.map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`),
  );
  const ours = new Map(
    inputs.gateways
      .filter((g) =>
        isJibeGatewayClass(
          (g.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName ?? "",
          inputs.gatewayClasses,
        ),
      )
      .map((g) => [key(g), g]),
  );
  const diagnostics: Diagnostic[] = [];
  for (const gatewayKey of ours.keys()) {
    const [namespace = "default"] = gatewayKey.split("/");
    const proxy = { id: `gateway~status~${gatewayKey}`, role: "gateway" as const, namespace, labels: {} };
    diagnostics.push(...attachDiagnostics(compile(inputs.resources, { ...proxy, gateways: [gatewayKey] })));
  }
  const allRoutes = [
    ...inputs.routes.map((route) => ({ kind: "HTTPRoute", route })),
    ...(inputs.grpcRoutes ?? []).map((route) => ({ kind: "GRPCRoute", route })),
    ...(inputs.tcpRoutes ?? []).map((route) => ({ kind: "TCPRoute", route })),
    ...(inputs.tlsRoutes ?? []).map((route) => ({ kind: "TLSRoute", route })),
  ];
  const namespaceLabels = new Map(
    inputs.resources
      .filter((r) => r.kind === "Namespace")
      .map((r) => [r.metadata.name, r.metadata.labels ?? {}] as const),
  );
  const meshNamespaces = new Set(
    allRoutes
      .map((r) => r.route)
      .filter((r) => routeSpec(r).parentRefs?.some(isServiceParent))
      .map((r) => r.metadata?.namespace ?? "default"),
  );
  for (const namespace of meshNamespaces) {
    const proxy = { id: `sidecar~status~${namespace}`, role: "sidecar" as const, namespace, labels: {} };
    diagnostics.push(...attachDiagnostics(compile(inputs.resources, proxy)));
  }

  diagnostics.push(...resolveRefsDiagnostics(inputs.resources));

  const byKind = new Map<string, Map<string, RouteParentStatus[]>>(
    ["HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute"].map((kind) => [kind, new Map()]),
  );
  const attached = new Map<string, Map<string, number>>(); // gateway → listener → routes
  for (const { kind, route } of allRoutes) {
    const routeKey = key(route);
    const resource = `${kind}/${routeKey}`;
    const generation = route.metadata?.generation;
    const mine = diagnostics.filter((d) => d.resource === resource);
    const unresolved = mine.find((d) => d.code === "JIBE2061");
    const resolvedRefs = unresolved
      ? condition("ResolvedRefs", false, reasonOf(unresolved, RESOLVE_REASONS, "BackendNotFound"), unresolved)
      : condition("ResolvedRefs", true, "ResolvedRefs", undefined, "every backendRef resolves");
    const parents: RouteParentStatus[] = [];
    for (const parent of routeSpec(route).parentRefs ?? []) {
      const namespace = parent.namespace ?? route.metadata?.namespace ?? "default";
      const parentKey = `${namespace}/${parent.name}`;
      const gateway = isGatewayParent(parent) ? ours.get(parentKey) : undefined;
      if (!gateway && !isServiceParent(parent)) continue; // another controller's parent
      const needles = gateway ? [`Gateway ${parentKey}`] : [`Service ${parentKey}`, `Service/${parentKey}`];
      const refused = mine.find(
        (d) => d.code === "JIBE2060" && needles.some((needle) => d.message.includes(needle)),
      );
      const accepted = !published.has(resource)
        ? condition("Accepted", false, "Invalid", undefined, "not published to the mesh (see the Event)")
        : gateway && !published.has(`KubernetesGateway/${parentKey}`)
          ? condition("Accepted", false, "NoMatchingParent", undefined, `Gateway ${parentKey} is invalid`)
          : refused
            ? condition("Accepted", false, reasonOf(refused, ATTACH_REASONS, "NoMatchingParent"), refused)
            : condition("Accepted", true, "Accepted", undefined, "attached");
      parents.push({
        parentRef: parent,
        controllerName: GATEWAY_CONTROLLER,
        conditions: [accepted, resolvedRefs].map((c) => withGeneration(c, generation)),
      });
      if (gateway && accepted.status === "True") {
        const counts = attached.get(parentKey) ?? new Map<string, number>();
        const spec = gateway.spec as KubernetesGatewaySpec;
        for (const listener of spec.listeners ?? [])
          if (
            (parent.sectionName === undefined || listener.name === parent.sectionName) &&
            (parent.port === undefined || listener.port === parent.port) &&
            acceptsRoute(listener, gateway.metadata?.namespace ?? "default", {
              namespace: route.metadata?.namespace ?? "",
              kind,
              namespaceLabels,
            })
          )
            counts.set(listener.name, (counts.get(listener.name) ?? 0) + 1);
        attached.set(parentKey, counts);
      }
    }
    if (parents.length > 0) byKind.get(kind)?.set(routeKey, parents);
  }

  const gateways = new Map<string, { conditions: Condition[]; listeners: ListenerStatus[] }>();
  for (const [gatewayKey, gateway] of ours) {
    const generation = gateway.metadata?.generation;
    const ok = published.has(`KubernetesGateway/${gatewayKey}`);
    const conditions = ok
      ? [
          condition("Accepted", true, "Accepted", undefined, "served by Jibe"),
          condition("Programmed", true, "Programmed", undefined, "compiled into the gateway proxies' config"),
        ]
      : [
          condition("Accepted", false, "Invalid", undefined, "not published to the mesh (see the Event)"),
          condition("Programmed", false, "Invalid", undefined, "not published to the mesh"),
        ];
    const listeners = ((gateway.spec as KubernetesGatewaySpec).listeners ?? []).map((listener, index) => {
      const certificates = certificateProblem(diagnostics, gatewayKey, index);
      const programmed = ok && !certificates?.unserved;
      const http = ["HTTP", "HTTPS", "TCP"].includes(listener.protocol) || passthrough(listener);
      const kinds = listenerRouteKinds(listener);
      const invalidKinds = (listener.allowedRoutes?.kinds ?? []).filter(
        (k) => (k.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || !kinds.includes(k.kind),
      );
      const listenerConditions = http
        ? [
            condition("Accepted", true, "Accepted", undefined, "listener accepted"),
            programmed
              ? condition("Programmed", true, "Programmed", undefined, "listener programmed")
              : condition(
                  "Programmed",
                  false,
                  "Invalid",
                  certificates?.diagnostic,
                  "listener not programmed",
                ),
            certificates
              ? condition("ResolvedRefs", false, certificates.reason, certificates.diagnostic)
              : invalidKinds.length > 0
                ? condition(
                    "ResolvedRefs",
                    false,
                    "InvalidRouteKinds",
                    undefined,
                    `route kinds ${invalidKinds.map((k) => k.kind).join(", ")} are not supported on a ${listener.protocol} listener; use ${listenerRouteKinds({ ...listener, allowedRoutes: {} }).join(" or ")}`,
                  )
                : condition("ResolvedRefs", true, "ResolvedRefs", undefined, "references resolved"),
          ]
        : [
            condition(
              "Accepted",
              false,
              "UnsupportedProtocol",
              undefined,
              `${listener.protocol} is not served${listener.protocol === "TLS" ? " unless tls.mode is Passthrough (TLSRoute)" : ""}`,
            ),
            condition("Programmed", false, "Invalid", undefined, "listener not programmed"),
          ];
      return {
        name: listener.name,
        supportedKinds: kinds.map((kind) => ({ group: GATEWAY_API_GROUP, kind })),
        attachedRoutes: attached.get(gatewayKey)?.get(listener.name) ?? 0,
        conditions: listenerConditions.map((c) => withGeneration(c, generation)),
      };
    });
    gateways.set(gatewayKey, { conditions: conditions.map((c) => withGeneration(c, generation)), listeners });
  }
  const empty = new Map<string, RouteParentStatus[]>();
  return {
    gateways,
    routes: byKind.get("HTTPRoute") ?? empty,
    grpcRoutes: byKind.get("GRPCRoute") ?? empty,
    tcpRoutes: byKind.get("TCPRoute") ?? empty,
    tlsRoutes: byKind.get("TLSRoute") ?? empty,
  };
}

const PROBE = { name: "jibe-resolved-refs-probe", namespace: "jibe-system" };

/**
 * JIBE2061 for every HTTPRoute, GRPCRoute, TCPRoute and TLSRoute, attached or not: the routes (renamed nothing, parents
 * replaced) attached to one probe Gateway that accepts them all, compiled for that Gateway's proxy.
 */
function resolveRefsDiagnostics(resources: readonly StoredResource[]): Diagnostic[] {
  const isRoute = (r: StoredResource) => ROUTE_KINDS.includes(r.kind);
  if (!resources.some(isRoute)) return [];
  const probe: StoredResource = {
    apiVersion: `${GATEWAY_API_GROUP}/v1`,
    kind: "KubernetesGateway",
    metadata: { ...PROBE },
    spec: {
      gatewayClassName: JIBE_GATEWAY_CLASS,
      listeners: [
        { name: "probe", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } },
        { name: "tcp", port: 81, protocol: "TCP", allowedRoutes: { namespaces: { from: "All" } } },
        {
          name: "tls",
          port: 82,
          protocol: "TLS",
          tls: { mode: "Passthrough" },
          allowedRoutes: { namespaces: { from: "All" } },
        },
      ],
    } satisfies KubernetesGatewaySpec,
  };
  const probed = resources.map((r) =>
    isRoute(r) ? { ...r, spec: { ...(r.spec as HttpRouteApiSpec), parentRefs: [{ ...PROBE }] } } : r,
  );
  const proxy = {
    id: "gateway~status~probe",
    role: "gateway" as const,
    namespace: PROBE.namespace,
    labels: {},
  };
  return compile([...probed, probe], {
    ...proxy,
    gateways: [`${PROBE.namespace}/${PROBE.name}`],
  }).diagnostics.filter((d) => d.code === "JIBE2061");
}

const ROUTE_KINDS = ["HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute"];

function passthrough(listener: { protocol: string; tls?: { mode?: string } | undefined }): boolean {
  return listener.protocol === "TLS" && listener.tls?.mode === "Passthrough";
}

const ATTACH_REASONS = [
  "NotAllowedByListeners",
  "NoMatchingListenerHostname",
  "NoMatchingParent",
  "Conflicted",
];
const RESOLVE_REASONS = ["RefNotPermitted", "BackendNotFound", "InvalidKind"];

/** The Gateway API reason the compiler names in its message, else `fallback`. */
function reasonOf(diagnostic: Diagnostic, reasons: readonly string[], fallback: string): string {
  return reasons.find((r) => diagnostic.message.includes(r)) ?? fallback;
}

function attachDiagnostics(compiled: { diagnostics: Diagnostic[] }): Diagnostic[] {
  // JIBE2065: a Gateway's HTTPS listener certificates (its listener status below).
  return compiled.diagnostics.filter((d) => d.code === "JIBE2060" || d.code === "JIBE2065");
}

/**
 * An HTTPS listener's certificate problems (JIBE2065 at `spec.listeners[i].tls…`): ResolvedRefs
 * False (InvalidCertificateRef or RefNotPermitted), and whether the listener is left unserved.
 */
function certificateProblem(
  diagnostics: readonly Diagnostic[],
  gatewayKey: string,
  index: number,
): { diagnostic: Diagnostic; reason: string; unserved: boolean } | undefined {
  const at = `spec.listeners[${index}].tls`;
  const mine = diagnostics.filter(
    (d) => d.code === "JIBE2065" && d.resource === `KubernetesGateway/${gatewayKey}` && d.path.startsWith(at),
  );
  const first = mine[0];
  if (!first) return undefined;
  const refused = mine.find((d) => d.message.includes("RefNotPermitted"));
  return {
    diagnostic: refused ?? first,
    reason: refused ? "RefNotPermitted" : "InvalidCertificateRef",
    unserved: mine.some((d) => d.path === `${at}.certificateRefs` || d.path === `${at}.frontendValidation`),
  };
}

function condition(
  type: string,
  ok: boolean,
  reason: string,
  diagnostic: Diagnostic | undefined,
  message = "",
): Condition {
  return {
    type,
    status: ok ? "True" : "False",
    reason,
    message: diagnostic ? `${diagnostic.path}: ${diagnostic.message} [${diagnostic.code}]` : message,
  };
}

function withGeneration(c: Condition, generation: number | undefined): Condition {
  return generation === undefined ? c : { ...c, observedGeneration: generation };
}

function routeSpec(route: KubeObjectLike): HttpRouteApiSpec {
  return (route.spec ?? {}) as HttpRouteApiSpec;
}
