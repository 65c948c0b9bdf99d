import type { ApiServerDouble } from "./api-server.ts";
import type { KubeObject } from "./object-store.ts";
import { resourceType } from "./resource-types.ts";

/**
 * What kube-controller-manager and the kubelet would do for the double, reduced to what the mesh reads:
 * each Deployment gets `replicas` Running, Ready Pods with an IP; each Service with a selector gets one
 * EndpointSlice (label `kubernetes.io/service-name`) listing the ready Pods it selects, ports resolved
 * from `targetPort` as the EndpointSlice controller does. Call after changing Deployments or Services.
 *
 * @example
 * ```ts
 * for (const doc of bookinfo) api.apply(doc);
 * reconcileWorkloads(api);
 * ```
 */
export function reconcileWorkloads(api: ApiServerDouble): void {
  const pods = resourceType("Pod");
  const wantedPods = new Map<string, KubeObject>();
  for (const deployment of api.store.list(resourceType("Deployment"))) {
    const ns = deployment.metadata.namespace ?? "default";
    const spec = deployment.spec as DeploymentSpec;
    for (let i = 0; i < (spec.replicas ?? 1); i++) {
      const name = `${deployment.metadata.name}-${i}`;
      wantedPods.set(`${ns}/${name}`, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: ns, labels: spec.template.metadata?.labels ?? {} },
        spec: spec.template.spec,
        status: {
          phase: "Running",
          podIP: ipFor(`${ns}/${name}`),
          conditions: [{ type: "Ready", status: "True" }],
        },
      });
    }
  }
  for (const pod of api.store.list(pods)) {
    if (!wantedPods.has(`${pod.metadata.namespace}/${pod.metadata.name}`))
      api.store.delete(pods, pod.metadata.namespace ?? "", pod.metadata.name);
  }
  for (const pod of wantedPods.values()) api.apply(pod);

  const slices = resourceType("EndpointSlice");
  const wantedSlices = new Map<string, KubeObject>();
  for (const service of api.store.list(resourceType("Service"))) {
    const selector = (service.spec as ServiceSpec).selector;
    if (!selector) continue;
    const ns = service.metadata.namespace ?? "default";
    const selected = [...wantedPods.values()].filter(
      (p) =>
        p.metadata.namespace === ns &&
        Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
    );
    const name = `${service.metadata.name}-slice`;
    wantedSlices.set(`${ns}/${name}`, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name, namespace: ns, labels: { "kubernetes.io/service-name": service.metadata.name } },
      addressType: "IPv4",
      endpoints: selected.map((pod) => ({
        addresses: [(pod.status as { podIP: string }).podIP],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: "Pod", namespace: ns, name: pod.metadata.name },
      })),
      ports: ((service.spec as ServiceSpec).ports ?? []).map((port) => ({
        name: port.name ?? "",
        protocol: port.protocol ?? "TCP",
        port: resolveTargetPort(port, selected[0]),
      })),
    });
  }
  for (const slice of api.store.list(slices)) {
    if (!wantedSlices.has(`${slice.metadata.namespace}/${slice.metadata.name}`))
      api.store.delete(slices, slice.metadata.namespace ?? "", slice.metadata.name);
  }
  for (const slice of wantedSlices.values()) api.apply(slice);
}

interface DeploymentSpec {
  replicas?: number;
  template: { metadata?: { labels?: Record<string, string> }; spec: { containers?: Container[] } };
}
interface Container {
  ports?: { name?: string; containerPort: number }[];
}
interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}
interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: ServicePort[];
}

function resolveTargetPort(port: ServicePort, pod: KubeObject | undefined): number {
  if (typeof port.targetPort === "number") return port.targetPort;
  if (typeof port.targetPort === "string") {
    const containers = (pod?.spec as { containers?: Container[] } | undefined)?.containers ?? [];
    const named = containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port.targetPort);
    if (named) return named.containerPort;
  }
  return port.port;
}

/** A stable pod IP per pod, as the CNI would hand out. */
function ipFor(key: string): string {
  let hash = 0;
  for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `10.244.${(hash >>> 8) % 250}.${(hash % 250) + 2}`;
}
