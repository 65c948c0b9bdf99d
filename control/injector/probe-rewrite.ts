import type { Container, Probe } from "./pod.ts";
import { PROXY } from "./traffic-capture.ts";

/** The probes the kubelet sends, and the path suffix Istio gives each on the proxy's status port. */
const PROBE_KINDS = [
  ["livenessProbe", "livez"],
  ["readinessProbe", "readyz"],
  ["startupProbe", "startupz"],
] as const;

export type ProbeKind = (typeof PROBE_KINDS)[number][0];

/** One rewritten probe: where it was and what the kubelet now calls instead. */
export interface RewrittenProbe {
  containerIndex: number;
  kind: ProbeKind;
  probe: Probe;
}

/**
 * Rewrites HTTP probes of app containers to `/app-health/<container>/livez|readyz|startupz` on the
 * proxy's status port, Istio's scheme: with inbound capture on (mTLS in the mesh) the kubelet's plain
 * HTTP probe could not reach the app, so the proxy calls the app's real endpoint for it. `probers`
 * maps each new path to the original action (named ports resolved), which the proxy reads.
 * Probes on a named port the container does not declare are left alone. Pure.
 *
 * @example
 * ```ts
 * const { rewritten, probers } = rewriteHttpProbes(pod.spec.containers);
 * probers["/app-health/web/readyz"]; // { httpGet: { path: "/ready", port: 8080, scheme: "HTTP" }, timeoutSeconds: 1 }
 * ```
 */
export function rewriteHttpProbes(containers: readonly Container[]): {
  rewritten: RewrittenProbe[];
  probers: Record<string, unknown>;
} {
  const rewritten: RewrittenProbe[] = [];
  const probers: Record<string, unknown> = {};
  containers.forEach((container, containerIndex) => {
    for (const [kind, suffix] of PROBE_KINDS) {
      const probe = container[kind];
      const httpGet = probe?.httpGet;
      if (!probe || !httpGet) continue;
      const port = resolvePort(container, httpGet.port);
      if (port === undefined) continue;
      const path = `/app-health/${container.name}/${suffix}`;
      probers[path] = {
        httpGet: {
          path: httpGet.path ?? "/",
          port,
          scheme: httpGet.scheme ?? "HTTP",
          ...(httpGet.host ? { host: httpGet.host } : {}),
          ...(httpGet.httpHeaders ? { httpHeaders: httpGet.httpHeaders } : {}),
        },
        timeoutSeconds: probe.timeoutSeconds ?? 1,
      };
      rewritten.push({
        containerIndex,
        kind,
        probe: { ...probe, httpGet: { path, port: PROXY.statusPort, scheme: "HTTP" } },
      });
    }
  });
  return { rewritten, probers };
}

function resolvePort(container: Container, port: number | string): number | undefined {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
