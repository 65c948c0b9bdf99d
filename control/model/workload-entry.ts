import { z } from "zod";
import type { Reporter } from "./diagnostics.ts";
import { checkLabels, checkPort, stringMapSchema } from "./istio-fields.ts";
import { isDns1123Label, isHostName, isIpAddress } from "./names.ts";

/**
 * `networking.istio.io` WorkloadEntry spec: one endpoint (VM, process, or in Jibe's local layout,
 * a sidecar's inbound listener). `ports` maps a Service port NAME to the endpoint's port.
 */
export const workloadEntrySpecSchema = z.strictObject({
  address: z.string().optional(),
  ports: z.record(z.string(), z.number().int()).optional(),
  labels: stringMapSchema.optional(),
  network: z.string().optional(),
  locality: z.string().optional(),
  weight: z.number().int().optional(),
  serviceAccount: z.string().optional(),
});

/** Envoy's `load_balancing_weight` is a uint32, and the sum of a locality's must fit it. */
const MAX_WEIGHT = 4_294_967_295;

/** A validated WorkloadEntry spec. */
export type WorkloadEntrySpec = z.infer<typeof workloadEntrySpecSchema>;

/** Istio's rules for a WorkloadEntry: an address (IP, host name or unix://), valid ports and labels. */
export function checkWorkloadEntry(spec: WorkloadEntrySpec, report: Reporter): void {
  const address = spec.address ?? "";
  if (address === "") {
    if (!spec.network)
      report.error(
        "JIBE1012",
        ["spec", "address"],
        'address is required; set the endpoint IP or host name, e.g. "10.0.0.7"',
      );
  } else if (address.startsWith("unix://")) {
    if (spec.ports && Object.keys(spec.ports).length > 0)
      report.error("JIBE1013", ["spec", "ports"], "a unix:// endpoint must not have ports; remove them");
  } else if (!isIpAddress(address) && !isHostName(address)) {
    report.error(
      "JIBE1013",
      ["spec", "address"],
      `address "${address}" is neither an IP address nor a host name`,
    );
  }
  for (const [name, port] of Object.entries(spec.ports ?? {})) {
    if (!isDns1123Label(name))
      report.error(
        "JIBE1013",
        ["spec", "ports", name],
        `port name "${name}" must be a DNS-1123 label, e.g. "http"`,
      );
    checkPort(port, ["spec", "ports", name], report);
  }
  checkLabels(spec.labels, ["spec", "labels"], report);
  if (spec.weight !== undefined && spec.weight < 0)
    report.error(
      "JIBE1013",
      ["spec", "weight"],
      `weight ${spec.weight} is negative; use a whole number of 1 or more (relative share of traffic)`,
    );
  else if (spec.weight !== undefined && spec.weight > MAX_WEIGHT)
    report.error(
      "JIBE1013",
      ["spec", "weight"],
      `weight ${spec.weight} is above Envoy's limit ${MAX_WEIGHT}; scale the weights down keeping their ratios`,
    );
  // Istio's weight is unsigned and 0 means unset (weight 1): an explicit 0 does not drain the endpoint.
  else if (spec.weight === 0)
    report.warn(
      "JIBE1013",
      ["spec", "weight"],
      "weight 0 means unset in Istio: the endpoint still gets weight 1, not no traffic; remove the endpoint to drain it, or set a weight of 1 or more",
    );
}
