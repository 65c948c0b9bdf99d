import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { Reporter } from "./diagnostics.ts";
import { checkLabels, stringMapSchema } from "./istio-fields.ts";
import { checkNamespacedHost } from "./namespaced-host.ts";
import { checkIstioPort, istioPortSchema } from "./service-entry.ts";

const captureModeSchema = z.enum(["DEFAULT", "IPTABLES", "NONE"]);

/**
 * `networking.istio.io` Sidecar spec (https://istio.io/latest/docs/reference/config/networking/sidecar/).
 * Jibe enforces `workloadSelector`, `egress[].hosts` and `outboundTrafficPolicy.mode`; the other
 * fields are accepted and reported as not enforced by the compiler.
 */
export const sidecarSpecSchema = z.strictObject({
  workloadSelector: z.strictObject({ labels: stringMapSchema.optional() }).optional(),
  ingress: z
    .array(
      z.strictObject({
        port: istioPortSchema,
        bind: z.string().optional(),
        captureMode: captureModeSchema.optional(),
        defaultEndpoint: z.string().optional(),
        tls: z.record(z.string(), z.unknown()).optional(),
        connectionPool: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
  egress: z
    .array(
      z.strictObject({
        port: istioPortSchema.optional(),
        bind: z.string().optional(),
        captureMode: captureModeSchema.optional(),
        hosts: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  outboundTrafficPolicy: z
    .strictObject({
      mode: z.enum(["REGISTRY_ONLY", "ALLOW_ANY"]).optional(),
      egressProxy: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  inboundConnectionPool: z.record(z.string(), z.unknown()).optional(),
});

/** A validated Sidecar spec. */
export type SidecarSpec = z.infer<typeof sidecarSpecSchema>;

/**
 * Istio's rules for a Sidecar (ValidateSidecar): not empty; a selector has labels; every egress
 * listener has `namespace/dnsName` hosts; only the last egress listener may omit its port;
 * `egressProxy` only with ALLOW_ANY.
 *
 * @example
 * ```ts
 * checkSidecar({ egress: [{ hosts: ["reviews"] }] }, report); // error at spec.egress[0].hosts[0]
 * ```
 */
export function checkSidecar(spec: SidecarSpec, report: Reporter, _metadata?: ResourceMetadata): void {
  if (
    !spec.egress?.length &&
    !spec.ingress?.length &&
    !spec.outboundTrafficPolicy &&
    !spec.inboundConnectionPool
  )
    report.error(
      "JIBE1012",
      ["spec"],
      'the Sidecar is empty; add egress hosts (e.g. egress: [{ hosts: ["./*", "istio-system/*"] }]) or an outboundTrafficPolicy',
    );
  const selector = spec.workloadSelector;
  if (selector && Object.keys(selector.labels ?? {}).length === 0)
    report.error(
      "JIBE1012",
      ["spec", "workloadSelector", "labels"],
      "workloadSelector needs at least one label; remove workloadSelector to apply to the whole namespace",
    );
  checkLabels(selector?.labels, ["spec", "workloadSelector", "labels"], report);
  const egress = spec.egress ?? [];
  egress.forEach((listener, i) => {
    const at = ["spec", "egress", i] as const;
    if (!listener.hosts?.length)
      report.error(
        "JIBE1012",
        [...at, "hosts"],
        'an egress listener needs hosts, e.g. ["./*", "istio-system/*"]',
      );
    for (const [j, host] of (listener.hosts ?? []).entries())
      checkNamespacedHost(host, [...at, "hosts", j], report, { requireNamespace: true });
    if (listener.port) checkIstioPort(listener.port, [...at, "port"], report, { nameRequired: false });
    else if (i !== egress.length - 1)
      report.error(
        "JIBE1013",
        [...at, "port"],
        "only the last egress listener may omit its port (it is the catch-all); move it last or give it a port",
      );
  });
  for (const [i, listener] of (spec.ingress ?? []).entries())
    checkIstioPort(listener.port, ["spec", "ingress", i, "port"], report, { nameRequired: false });
  const policy = spec.outboundTrafficPolicy;
  if (policy?.egressProxy && policy.mode !== "ALLOW_ANY")
    report.error(
      "JIBE1022",
      ["spec", "outboundTrafficPolicy", "egressProxy"],
      "egressProxy may only be set with mode ALLOW_ANY",
    );
}
