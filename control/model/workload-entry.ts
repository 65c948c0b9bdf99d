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
    report.error("JIBE1013", ["spec", "weight"], "weight cannot be negative");
}
