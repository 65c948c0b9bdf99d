import { z } from "zod";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { backendObjectRefSchema, filterFields, parentRefSchema, valueMatchSchema } from "./gateway-api.ts";
import { checkFilters, checkHostname } from "./gateway-api-checks.ts";
import { checkHeaderName, checkPort, checkRegex } from "./istio-fields.ts";

/**
 * Gateway API GRPCRoute (`gateway.networking.k8s.io/v1`, standard channel), field for field as
 * https://gateway-api.sigs.k8s.io/reference/spec/#grpcroute documents it, with the rules the
 * project's CRD (CEL) validation enforces. Compiled as the HTTPRoute it is equivalent to
 * (`control/compile/grpc-routes.ts`): gRPC calls are HTTP/2 POSTs to `/<service>/<method>`.
 */

const grpcMethodMatchSchema = z.strictObject({
  type: z.enum(["Exact", "RegularExpression"]).optional(),
  service: z.string().optional(),
  method: z.string().optional(),
});

const grpcRouteMatchSchema = z.strictObject({
  method: grpcMethodMatchSchema.optional(),
  headers: z.array(valueMatchSchema).optional(),
});
/** `GRPCRouteMatch`: every present condition must hold. */
export type GrpcRouteMatch = z.infer<typeof grpcRouteMatchSchema>;

/** Filter types a GRPCRoute allows (no redirects, rewrites or CORS) and the field each fills. */
export const GRPC_FILTER_TYPES = [
  "RequestHeaderModifier",
  "ResponseHeaderModifier",
  "RequestMirror",
  "ExtensionRef",
] as const;

const grpcFilterSchema = z.strictObject({
  type: z.enum(GRPC_FILTER_TYPES),
  requestHeaderModifier: filterFields.requestHeaderModifier,
  responseHeaderModifier: filterFields.responseHeaderModifier,
  requestMirror: filterFields.requestMirror,
  extensionRef: filterFields.extensionRef,
});
/** `GRPCRouteFilter`. */
export type GrpcRouteFilter = z.infer<typeof grpcFilterSchema>;

const grpcBackendRefSchema = backendObjectRefSchema.extend({
  weight: z.number().int().optional(),
  filters: z.array(grpcFilterSchema).optional(),
});

const grpcRouteRuleSchema = z.strictObject({
  name: z.string().optional(),
  matches: z.array(grpcRouteMatchSchema).optional(),
  filters: z.array(grpcFilterSchema).optional(),
  backendRefs: z.array(grpcBackendRefSchema).optional(),
  sessionPersistence: z.unknown().optional(),
});
/** `GRPCRouteRule`. */
export type GrpcRouteRule = z.infer<typeof grpcRouteRuleSchema>;

/** GRPCRoute spec. */
export const grpcRouteSpecSchema = z.strictObject({
  parentRefs: z.array(parentRefSchema).optional(),
  hostnames: z.array(z.string()).optional(),
  rules: z.array(grpcRouteRuleSchema).optional(),
});
export type GrpcRouteSpec = z.infer<typeof grpcRouteSpecSchema>;

/** The CRD's patterns for an Exact `method.service` (a dotted proto name) and `method.method`. */
const SERVICE_NAME = /^\.?[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const METHOD_NAME = /^[A-Za-z_][A-Za-z_0-9]*$/;

/**
 * GRPCRoute checks: hostnames, a method match names a service or a method (valid proto names when
 * Exact, RE2 when RegularExpression), header names unique, filters as for HTTPRoute, backendRefs
 * to a Service with a port and a weight in range.
 *
 * @example
 * ```ts
 * checkGrpcRoute({ rules: [{ matches: [{ method: {} }] }] }, reporter);
 * // error at spec.rules[0].matches[0].method: "set service, method or both"
 * ```
 */
export function checkGrpcRoute(spec: GrpcRouteSpec, report: Reporter): void {
  (spec.hostnames ?? []).forEach((h, i) => {
    checkHostname(h, ["spec", "hostnames", i], report);
  });
  (spec.parentRefs ?? []).forEach((p, i) => {
    checkPort(p.port, ["spec", "parentRefs", i, "port"], report);
  });
  (spec.rules ?? []).forEach((rule, i) => {
    const at = ["spec", "rules", i];
    (rule.matches ?? []).forEach((m, j) => {
      checkMatch(m, [...at, "matches", j], report);
    });
    checkFilters(rule.filters ?? [], [...at, "filters"], report);
    if (rule.sessionPersistence !== undefined)
      report.warn(
        "JIBE1013",
        [...at, "sessionPersistence"],
        "sessionPersistence is accepted but not enforced by Jibe yet",
      );
    (rule.backendRefs ?? []).forEach((ref, j) => {
      const path = [...at, "backendRefs", j];
      if ((ref.group ?? "") === "" && (ref.kind ?? "Service") === "Service" && ref.port === undefined)
        report.error(
          "JIBE1012",
          [...path, "port"],
          `backendRef "${ref.name}" needs a port; add the Service port, e.g. port: 50051`,
        );
      checkPort(ref.port, [...path, "port"], report);
      if (ref.weight !== undefined && (ref.weight < 0 || ref.weight > 1_000_000))
        report.error(
          "JIBE1015",
          [...path, "weight"],
          `weight ${ref.weight} is out of range; use 0 to 1000000`,
        );
      checkFilters(ref.filters ?? [], [...path, "filters"], report);
    });
  });
}

function checkMatch(match: GrpcRouteMatch, at: PathSegment[], report: Reporter): void {
  const method = match.method;
  if (method) {
    const path = [...at, "method"];
    if (method.service === undefined && method.method === undefined)
      report.error(
        "JIBE1012",
        path,
        'a method match needs service, method or both, e.g. service: "helloworld.Greeter"',
      );
    for (const field of ["service", "method"] as const) {
      const value = method[field];
      if (value === undefined) continue;
      if (method.type === "RegularExpression") checkRegex(value, [...path, field], report);
      else if (!(field === "service" ? SERVICE_NAME : METHOD_NAME).test(value))
        report.error(
          "JIBE1013",
          [...path, field],
          field === "service"
            ? `service "${value}" is not a gRPC service name; use the dotted proto name, e.g. "helloworld.Greeter", or type: RegularExpression`
            : `method "${value}" is not a gRPC method name; use letters, digits and "_", e.g. "SayHello", or type: RegularExpression`,
        );
    }
  }
  const seen = new Set<string>();
  (match.headers ?? []).forEach((h, k) => {
    const path = [...at, "headers", k];
    if (seen.has(h.name.toLowerCase()))
      report.error(
        "JIBE1018",
        [...path, "name"],
        `header "${h.name}" is matched twice; keep one entry per name`,
      );
    seen.add(h.name.toLowerCase());
    checkHeaderName(h.name, [...path, "name"], report);
    if (h.type === "RegularExpression") checkRegex(h.value, [...path, "value"], report);
  });
}
