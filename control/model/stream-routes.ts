import { z } from "zod";
import type { Reporter } from "./diagnostics.ts";
import { backendObjectRefSchema, parentRefSchema } from "./gateway-api.ts";
import { checkHostname } from "./gateway-api-checks.ts";
import { checkPort } from "./istio-fields.ts";

/**
 * Gateway API TCPRoute and TLSRoute (experimental channel, `gateway.networking.k8s.io/v1alpha2`;
 * TLSRoute also `v1alpha3`), field for field as https://gateway-api.sigs.k8s.io/reference/spec/
 * documents them. They attach to a Gateway's TCP listeners (TCPRoute: every connection) and TLS
 * Passthrough listeners (TLSRoute: by SNI); compiled in `control/compile/gateway-api-streams.ts`.
 */

const streamBackendRefSchema = backendObjectRefSchema.extend({ weight: z.number().int().optional() });

const streamRuleSchema = z.strictObject({
  name: z.string().optional(),
  backendRefs: z.array(streamBackendRefSchema).optional(),
});
/** A TCPRoute or TLSRoute rule: where connections go, by weight. */
export type StreamRouteRule = z.infer<typeof streamRuleSchema>;

/** TCPRoute spec. */
export const tcpRouteSpecSchema = z.strictObject({
  parentRefs: z.array(parentRefSchema).optional(),
  rules: z.array(streamRuleSchema).min(1),
});
export type TcpRouteSpec = z.infer<typeof tcpRouteSpecSchema>;

/** TLSRoute spec: `hostnames` match the ClientHello's SNI. */
export const tlsRouteSpecSchema = z.strictObject({
  parentRefs: z.array(parentRefSchema).optional(),
  hostnames: z.array(z.string()).optional(),
  rules: z.array(streamRuleSchema).min(1),
});
export type TlsRouteSpec = z.infer<typeof tlsRouteSpecSchema>;

/**
 * TCPRoute and TLSRoute checks: hostnames (TLSRoute) are DNS names, backendRefs to a Service
 * name a port, weights in range. Jibe forwards by the first rule (as Istio), so more are a warning.
 *
 * @example
 * ```ts
 * checkStreamRoute({ rules: [{ backendRefs: [{ name: "db" }] }] }, reporter);
 * // error at spec.rules[0].backendRefs[0].port
 * ```
 */
export function checkStreamRoute(spec: TcpRouteSpec | TlsRouteSpec, report: Reporter): void {
  if ("hostnames" in spec)
    (spec.hostnames ?? []).forEach((h, i) => {
      checkHostname(h, ["spec", "hostnames", i], report);
    });
  (spec.parentRefs ?? []).forEach((p, i) => {
    checkPort(p.port, ["spec", "parentRefs", i, "port"], report);
  });
  if (spec.rules.length > 1)
    report.warn(
      "JIBE1013",
      ["spec", "rules"],
      "only the first rule is used (rules have no matches to choose between them); merge the backendRefs into one rule",
    );
  spec.rules.forEach((rule, i) => {
    (rule.backendRefs ?? []).forEach((ref, j) => {
      const at = ["spec", "rules", i, "backendRefs", j];
      if ((ref.group ?? "") === "" && (ref.kind ?? "Service") === "Service" && ref.port === undefined)
        report.error(
          "JIBE1012",
          [...at, "port"],
          `backendRef "${ref.name}" needs a port; add the Service port`,
        );
      checkPort(ref.port, [...at, "port"], report);
      if (ref.weight !== undefined && (ref.weight < 0 || ref.weight > 1_000_000))
        report.error("JIBE1015", [...at, "weight"], `weight ${ref.weight} is out of range; use 0 to 1000000`);
    });
  });
}
