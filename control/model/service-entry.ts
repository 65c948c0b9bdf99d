import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { parseIpBlock } from "./ip-block.ts";
import { checkLabels, checkPort, stringMapSchema } from "./istio-fields.ts";
import { isDns1123Label, isHostName, isIpAddress, wildcardDomainProblem } from "./names.ts";
import { checkExportTo } from "./namespaced-host.ts";
import { checkWorkloadEntry, type WorkloadEntrySpec, workloadEntrySpecSchema } from "./workload-entry.ts";

/** Port protocols Istio accepts (case-insensitive), as its `protocol.Parse` knows them. */
export const ISTIO_PROTOCOLS = [
  "HTTP",
  "HTTPS",
  "GRPC",
  "GRPC-WEB",
  "HTTP2",
  "HTTP_PROXY",
  "MONGO",
  "MYSQL",
  "REDIS",
  "TCP",
  "TLS",
  "UDP",
] as const;

/** Istio `ServicePort` (ServiceEntry ports; Gateway server ports use the same shape). */
export const istioPortSchema = z.strictObject({
  number: z.number().int(),
  protocol: z.string().optional(),
  name: z.string().optional(),
  targetPort: z.number().int().optional(),
});
export type IstioPort = z.infer<typeof istioPortSchema>;

/**
 * `networking.istio.io` ServiceEntry spec
 * (https://istio.io/latest/docs/reference/config/networking/service-entry/).
 */
export const serviceEntrySpecSchema = z.strictObject({
  hosts: z.array(z.string()).optional(),
  addresses: z.array(z.string()).optional(),
  ports: z.array(istioPortSchema).optional(),
  location: z.enum(["MESH_EXTERNAL", "MESH_INTERNAL"]).optional(),
  resolution: z.enum(["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"]).optional(),
  endpoints: z.array(workloadEntrySpecSchema).optional(),
  workloadSelector: z.strictObject({ labels: stringMapSchema.optional() }).optional(),
  exportTo: z.array(z.string()).optional(),
  subjectAltNames: z.array(z.string()).optional(),
});

/** A validated ServiceEntry spec. */
export type ServiceEntrySpec = z.infer<typeof serviceEntrySpecSchema>;

/**
 * Checks a port's number, protocol and (when `nameRequired` or given) name.
 *
 * @example
 * ```ts
 * checkIstioPort({ number: 80, protocol: "HTTPX" }, ["spec", "ports", 0], report, { nameRequired: false }); // error at .protocol
 * ```
 */
export function checkIstioPort(
  port: IstioPort,
  path: readonly PathSegment[],
  report: Reporter,
  opts: { nameRequired: boolean },
): void {
  checkPort(port.number, [...path, "number"], report);
  checkPort(port.targetPort, [...path, "targetPort"], report);
  const protocol = port.protocol?.toUpperCase();
  if (protocol !== undefined && !(ISTIO_PROTOCOLS as readonly string[]).includes(protocol))
    report.error(
      "JIBE1013",
      [...path, "protocol"],
      `protocol "${port.protocol}" is not supported; use one of ${ISTIO_PROTOCOLS.join(", ")}`,
    );
  if (port.name === undefined || port.name === "") {
    if (opts.nameRequired)
      report.error("JIBE1012", [...path, "name"], 'port name is required; name it, e.g. "http"');
  } else if (!isDns1123Label(port.name))
    report.error(
      "JIBE1013",
      [...path, "name"],
      `port name "${port.name}" must be a DNS-1123 label, e.g. "http"`,
    );
}

/**
 * Istio's rules for a ServiceEntry (ValidateServiceEntry): hosts required and not `*`; addresses
 * are IPs or CIDRs; unique, valid ports; `workloadSelector` and `endpoints` exclusive; per
 * resolution: NONE takes no endpoints, STATIC needs endpoints (or a selector) with IP addresses,
 * DNS without endpoints needs plain host names (no wildcard), DNS_ROUND_ROBIN at most one endpoint;
 * endpoint ports name declared ports.
 *
 * @example
 * ```ts
 * checkServiceEntry({ hosts: ["*.example.com"], resolution: "DNS" }, report); // error at spec.hosts[0]
 * ```
 */
export function checkServiceEntry(
  spec: ServiceEntrySpec,
  report: Reporter,
  _metadata?: ResourceMetadata,
): void {
  const hosts = spec.hosts ?? [];
  const resolution = spec.resolution ?? "NONE";
  const endpoints = spec.endpoints ?? [];
  if (hosts.length === 0)
    report.error(
      "JIBE1012",
      ["spec", "hosts"],
      'hosts is required; list the hosts, e.g. ["api.example.com"]',
    );
  hosts.forEach((host, i) => {
    if (host === "*") {
      report.error(
        "JIBE1017",
        ["spec", "hosts", i],
        'host "*" is not allowed; name the host, e.g. "*.example.com"',
      );
      return;
    }
    const problem = wildcardDomainProblem(host);
    if (problem) report.error("JIBE1017", ["spec", "hosts", i], problem);
    else if (resolution.startsWith("DNS") && endpoints.length === 0 && host.startsWith("*"))
      report.error(
        "JIBE1017",
        ["spec", "hosts", i],
        `wildcard host "${host}" cannot be resolved with resolution ${resolution}; name the host, add endpoints, or use resolution NONE`,
      );
    if (hosts.indexOf(host) !== i)
      report.error("JIBE1018", ["spec", "hosts", i], `host "${host}" is listed twice; remove one`);
  });
  (spec.addresses ?? []).forEach((address, i) => {
    const block = parseIpBlock(address);
    if (!isIpAddress(address) && block === undefined)
      report.error(
        "JIBE1024",
        ["spec", "addresses", i],
        `address "${address}" is neither an IP address nor a CIDR block, e.g. "10.0.0.0/16"`,
      );
    else if (block && block.prefix < block.bytes.length * 8 && resolution.startsWith("DNS"))
      report.error(
        "JIBE1024",
        ["spec", "addresses", i],
        `CIDR block "${address}" is allowed only with resolution NONE or STATIC (Istio); use resolution STATIC with endpoints, or list single IPs`,
      );
  });
  const ports = spec.ports ?? [];
  const names = new Map<string, number>();
  const numbers = new Map<number, number>();
  ports.forEach((port, i) => {
    checkIstioPort(port, ["spec", "ports", i], report, { nameRequired: false });
    if (port.name) {
      const first = names.get(port.name);
      if (first !== undefined)
        report.error(
          "JIBE1018",
          ["spec", "ports", i, "name"],
          `port name "${port.name}" is already used by ports[${first}]`,
        );
      else names.set(port.name, i);
    }
    const first = numbers.get(port.number);
    if (first !== undefined)
      report.error(
        "JIBE1018",
        ["spec", "ports", i, "number"],
        `port ${port.number} is already used by ports[${first}]`,
      );
    else numbers.set(port.number, i);
    if (port.targetPort !== undefined && resolution === "NONE")
      report.warn(
        "JIBE1022",
        ["spec", "ports", i, "targetPort"],
        "targetPort has no effect with resolution NONE (traffic keeps its original port); remove it or use STATIC/DNS",
      );
  });
  if (spec.workloadSelector && endpoints.length > 0)
    report.error(
      "JIBE1022",
      ["spec", "workloadSelector"],
      "only one of workloadSelector or endpoints may be set; keep one",
    );
  checkLabels(spec.workloadSelector?.labels, ["spec", "workloadSelector", "labels"], report);
  if (resolution === "STATIC" && endpoints.length === 0 && !spec.workloadSelector)
    report.error(
      "JIBE1012",
      ["spec", "endpoints"],
      "resolution STATIC needs endpoints (or a workloadSelector); add endpoints: [{ address: 10.0.0.7 }] or use resolution DNS",
    );
  if (resolution === "NONE" && endpoints.length > 0)
    report.error(
      "JIBE1022",
      ["spec", "endpoints"],
      "resolution NONE takes no endpoints (traffic goes to its original destination); remove them or use STATIC/DNS",
    );
  if (resolution === "NONE" && spec.workloadSelector)
    report.warn(
      "JIBE1022",
      ["spec", "workloadSelector"],
      "workloadSelector has no effect with resolution NONE; use STATIC to send traffic to the selected workloads",
    );
  if (resolution === "DNS_ROUND_ROBIN" && endpoints.length > 1)
    report.error(
      "JIBE1013",
      ["spec", "endpoints"],
      "resolution DNS_ROUND_ROBIN allows at most one endpoint; use DNS for several",
    );
  for (const [i, endpoint] of endpoints.entries()) checkEndpoint(endpoint, i, resolution, names, report);
  checkExportTo(spec.exportTo, ["spec", "exportTo"], report);
}

function checkEndpoint(
  endpoint: WorkloadEntrySpec,
  i: number,
  resolution: string,
  portNames: ReadonlyMap<string, number>,
  report: Reporter,
): void {
  const at = ["spec", "endpoints", i] as const;
  // The WorkloadEntry rules report under `spec.`; re-root them under this endpoint.
  const reroot = (path: readonly PathSegment[]) => [...at, ...path.slice(1)];
  checkWorkloadEntry(endpoint, {
    resource: report.resource,
    diagnostics: report.diagnostics,
    error: (code, path, message) => report.error(code, reroot(path), message),
    warn: (code, path, message) => report.warn(code, reroot(path), message),
  });
  const address = endpoint.address ?? "";
  if (address !== "" && !address.startsWith("unix://")) {
    if (resolution === "STATIC" && !isIpAddress(address))
      report.error(
        "JIBE1013",
        [...at, "address"],
        `endpoint address "${address}" must be an IP address with resolution ${resolution}; use resolution DNS for host names`,
      );
    else if (resolution.startsWith("DNS") && !isIpAddress(address) && !isHostName(address))
      report.error(
        "JIBE1013",
        [...at, "address"],
        `endpoint address "${address}" is not a host name or IP address`,
      );
  }
  for (const name of Object.keys(endpoint.ports ?? {})) {
    if (!portNames.has(name))
      report.error(
        "JIBE1013",
        [...at, "ports", name],
        `endpoint port "${name}" is not a port of this ServiceEntry; use a name from spec.ports`,
      );
  }
}
