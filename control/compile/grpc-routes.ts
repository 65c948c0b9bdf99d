import type { HttpRouteApiSpec, HttpRouteMatch } from "../model/gateway-api.ts";
import type { GrpcRouteMatch, GrpcRouteSpec } from "../model/grpc-route.ts";

/**
 * GRPCRoute as the HTTPRoute it is equivalent to, so both share one compiler (matching,
 * precedence, header modifiers, mirrors, weights, backend resolution, status): a gRPC call is an
 * HTTP/2 POST to `/<service>/<method>`, so a method match is a path match. Exact service and
 * method → Exact `/<service>/<method>`; service only → PathPrefix `/<service>` (whole path
 * elements); method only, or RegularExpression → a full-path regex where a missing part is any
 * one path element. Header matches, filters and backendRefs are the same fields. Routes keep the
 * GRPCRoute precedence ({@link grpcMatchRank}), not the HTTPRoute one.
 *
 * @example
 * ```ts
 * grpcRouteAsHttpRoute({ rules: [{ matches: [{ method: { service: "helloworld.Greeter", method: "SayHello" } }] }] })
 *   .rules?.[0]?.matches; // [{ path: { type: "Exact", value: "/helloworld.Greeter/SayHello" } }]
 * ```
 */
export function grpcRouteAsHttpRoute(spec: GrpcRouteSpec): HttpRouteApiSpec {
  return {
    ...(spec.parentRefs ? { parentRefs: spec.parentRefs } : {}),
    ...(spec.hostnames ? { hostnames: spec.hostnames } : {}),
    ...(spec.rules
      ? {
          rules: spec.rules.map(({ matches, ...rule }) => ({
            ...rule,
            ...(matches ? { matches: matches.map(asHttpMatch) } : {}),
          })),
        }
      : {}),
  };
}

const ANY_ELEMENT = "[^/]+";

/**
 * The GRPCRoute precedence of one match as a sort key (smaller first): the most characters in a
 * matching service, then in a matching method (Exact ones; a RegularExpression or a missing part
 * counts none), then the most header matches. Hostnames are chosen before routes are.
 *
 * @example
 * ```ts
 * grpcMatchRank({ method: { service: "a.B", method: "Get" } }); // [-3, -3, -0]
 * ```
 */
export function grpcMatchRank(match: GrpcRouteMatch | undefined): number[] {
  const exact = match?.method?.type !== "RegularExpression";
  return [
    -(exact ? (match?.method?.service?.length ?? 0) : 0),
    -(exact ? (match?.method?.method?.length ?? 0) : 0),
    -(match?.headers?.length ?? 0),
  ];
}

function asHttpMatch(match: GrpcRouteMatch): HttpRouteMatch {
  const out: HttpRouteMatch = match.headers ? { headers: match.headers } : {};
  const method = match.method;
  if (!method || (method.service === undefined && method.method === undefined)) return out;
  const { service, method: name } = method;
  if (method.type === "RegularExpression")
    return {
      ...out,
      path: { type: "RegularExpression", value: `/(?:${service ?? ANY_ELEMENT})/(?:${name ?? ANY_ELEMENT})` },
    };
  if (service !== undefined && name !== undefined)
    return { ...out, path: { type: "Exact", value: `/${service}/${name}` } };
  if (service !== undefined) return { ...out, path: { type: "PathPrefix", value: `/${service}` } };
  return { ...out, path: { type: "RegularExpression", value: `/${ANY_ELEMENT}/${name}` } };
}
