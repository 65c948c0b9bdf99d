import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { Reporter } from "./diagnostics.ts";
import { checkLabels } from "./istio-fields.ts";
import { ROOT_NAMESPACE, workloadSelectorSchema } from "./policy-target.ts";

/** Istio `PeerAuthentication.MutualTLS.Mode`; `UNSET` inherits from the parent policy. */
export const MTLS_MODES = ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"] as const;
/** One of {@link MTLS_MODES}. */
export type MtlsMode = (typeof MTLS_MODES)[number];

const mutualTlsSchema = z.strictObject({ mode: z.enum(MTLS_MODES).optional() });

/** `security.istio.io` PeerAuthentication spec: which inbound traffic must be mutual TLS. */
export const peerAuthenticationSpecSchema = z.strictObject({
  selector: workloadSelectorSchema.optional(),
  mtls: mutualTlsSchema.optional(),
  portLevelMtls: z.record(z.string(), mutualTlsSchema).optional(),
});
/** A validated PeerAuthentication spec. */
export type PeerAuthenticationSpec = z.infer<typeof peerAuthenticationSpecSchema>;

/** True when the selector picks nothing narrower than the namespace (Istio: nil or no labels). */
export function isNamespaceWide(spec: Pick<PeerAuthenticationSpec, "selector">): boolean {
  return Object.keys(spec.selector?.matchLabels ?? {}).length === 0;
}

/**
 * Istio's rules for PeerAuthentication: `portLevelMtls` only with a non-empty selector (a port is
 * a workload's port), port keys 1–65535, valid selector labels. A selector in the root namespace
 * is accepted but Istio ignores such a policy; that is a warning.
 */
export function checkPeerAuthentication(
  spec: PeerAuthenticationSpec,
  report: Reporter,
  metadata?: ResourceMetadata,
): void {
  checkLabels(spec.selector?.matchLabels, ["spec", "selector", "matchLabels"], report);
  const ports = Object.keys(spec.portLevelMtls ?? {});
  if (ports.length > 0 && isNamespaceWide(spec)) {
    report.error(
      "JIBE1022",
      ["spec", "portLevelMtls"],
      "portLevelMtls needs a workload selector (mesh- and namespace-wide policies cannot set port-level mTLS); add selector.matchLabels or move the ports into a workload policy",
    );
  }
  for (const port of ports) {
    if (!/^[0-9]+$/.test(port) || Number(port) < 1 || Number(port) > 65_535)
      report.error(
        "JIBE1013",
        ["spec", "portLevelMtls", port],
        `port "${port}" is not a port number; use the workload (container) port, 1-65535`,
      );
  }
  if (metadata?.namespace === ROOT_NAMESPACE && !isNamespaceWide(spec))
    report.warn(
      "JIBE1013",
      ["spec", "selector"],
      `a PeerAuthentication with a selector in the root namespace "${ROOT_NAMESPACE}" is ignored (Istio applies only mesh-wide policies from there); move it to the workload's namespace`,
    );
}
