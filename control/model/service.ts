import { z } from "zod";
import type { Reporter } from "./diagnostics.ts";
import { checkLabels, checkPort, stringMapSchema } from "./istio-fields.ts";
import { isDns1123Label } from "./names.ts";

/**
 * Kubernetes core/v1 Service spec. Jibe uses `selector` and `ports`; the other ServiceSpec fields
 * are accepted (so `kubectl get -o yaml` output applies) and ignored.
 */
export const servicePortSchema = z.strictObject({
  name: z.string().optional(),
  port: z.number().int(),
  targetPort: z
    .union([z.number().int(), z.string()], { error: "targetPort must be a port number or a port name" })
    .optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
  appProtocol: z.string().optional(),
  nodePort: z.number().int().optional(),
});
export type ServicePort = z.infer<typeof servicePortSchema>;

export const serviceSpecSchema = z.strictObject({
  selector: stringMapSchema.optional(),
  ports: z.array(servicePortSchema).optional(),
  type: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).optional(),
  clusterIP: z.string().optional(),
  clusterIPs: z.array(z.string()).optional(),
  externalIPs: z.array(z.string()).optional(),
  externalName: z.string().optional(),
  sessionAffinity: z.string().optional(),
  sessionAffinityConfig: z.record(z.string(), z.unknown()).optional(),
  loadBalancerIP: z.string().optional(),
  loadBalancerSourceRanges: z.array(z.string()).optional(),
  loadBalancerClass: z.string().optional(),
  externalTrafficPolicy: z.string().optional(),
  internalTrafficPolicy: z.string().optional(),
  healthCheckNodePort: z.number().int().optional(),
  publishNotReadyAddresses: z.boolean().optional(),
  ipFamilies: z.array(z.string()).optional(),
  ipFamilyPolicy: z.string().optional(),
  allocateLoadBalancerNodePorts: z.boolean().optional(),
  trafficDistribution: z.string().optional(),
});

/** A validated Service spec. */
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

/** Kubernetes' rules for Service ports: at least one, named when several, unique names and numbers. */
export function checkService(spec: ServiceSpec, report: Reporter): void {
  const ports = spec.ports ?? [];
  if (ports.length === 0 && spec.type !== "ExternalName") {
    report.error(
      "JIBE1012",
      ["spec", "ports"],
      "a Service needs at least one port; add ports: [{ name: http, port: 9080 }]",
    );
  }
  const names = new Map<string, number>();
  const numbers = new Map<string, number>();
  ports.forEach((port, i) => {
    const at = ["spec", "ports", i];
    checkPort(port.port, [...at, "port"], report);
    if (port.name === undefined || port.name === "") {
      if (ports.length > 1)
        report.error(
          "JIBE1012",
          [...at, "name"],
          "ports must be named when a Service has several; add name, e.g. http",
        );
    } else if (!isDns1123Label(port.name)) {
      report.error(
        "JIBE1013",
        [...at, "name"],
        `port name "${port.name}" must be a DNS-1123 label, e.g. "http-web"`,
      );
    } else if (names.has(port.name)) {
      report.error(
        "JIBE1018",
        [...at, "name"],
        `port name "${port.name}" is already used by ports[${names.get(port.name)}]`,
      );
    } else names.set(port.name, i);
    const numberKey = `${port.port}/${port.protocol ?? "TCP"}`;
    if (numbers.has(numberKey))
      report.error(
        "JIBE1018",
        [...at, "port"],
        `port ${numberKey} is already used by ports[${numbers.get(numberKey)}]`,
      );
    else numbers.set(numberKey, i);
    if (typeof port.targetPort === "number") checkPort(port.targetPort, [...at, "targetPort"], report);
    else if (port.targetPort !== undefined && !isDns1123Label(port.targetPort)) {
      report.error(
        "JIBE1013",
        [...at, "targetPort"],
        `targetPort "${port.targetPort}" must be a number or a port name`,
      );
    }
  });
  checkLabels(spec.selector, ["spec", "selector"], report);
}
