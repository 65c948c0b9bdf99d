import { describe, expect, it } from "vitest";
import { readIdentityEnv } from "../../workers/sidecar/identity-env.ts";
import { readSidecarEnv } from "../../workers/sidecar/sidecar-env.ts";
import { computeInjectionPatch, type InjectionOptions, supportsNativeSidecars } from "./inject-pod.ts";
import type { Container, NamespaceInfo, Pod } from "./pod.ts";
import { applyJsonPatch } from "./testing/apply-json-patch.ts";
import { routePacket } from "./testing/iptables-simulator.ts";

const OPTIONS: InjectionOptions = { kubernetesVersion: "v1.30.2", proxyImage: "ghcr.io/jibe/proxy:0.1.0" };
const LEGACY: InjectionOptions = { ...OPTIONS, kubernetesVersion: "1.28" };
const ENABLED: NamespaceInfo = { name: "shop", labels: { "jibe-injection": "enabled" } };
const PLAIN: NamespaceInfo = { name: "shop", labels: {} };

function appPod(
  overrides: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    spec?: Partial<Pod["spec"]>;
  } = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "reviews-v1-abc",
      labels: { app: "reviews", ...overrides.labels },
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
    },
    spec: {
      containers: [{ name: "reviews", image: "reviews:1", ports: [{ name: "http", containerPort: 9080 }] }],
      ...overrides.spec,
    },
  };
}

/** Injects as the API server would: compute the patch, apply it, return the resulting Pod. */
function inject(pod: Pod, ns: NamespaceInfo = ENABLED, opts: InjectionOptions = OPTIONS): Pod | undefined {
  const result = computeInjectionPatch(pod, ns, opts);
  return result.injected ? (applyJsonPatch(pod, result.patch) as Pod) : undefined;
}

const names = (cs: Container[] | undefined) => (cs ?? []).map((c) => c.name);
const find = (cs: Container[] | undefined, name: string) => (cs ?? []).find((c) => c.name === name);
const envOf = (c: Container | undefined, name: string) =>
  (c?.env as { name: string; value?: string }[] | undefined)?.find((e) => e.name === name)?.value;

describe("which pods get the proxy", () => {
  it("injects pods in namespaces labelled jibe-injection=enabled or istio-injection=enabled", () => {
    expect(inject(appPod(), ENABLED)).toBeDefined();
    expect(inject(appPod(), { name: "shop", labels: { "istio-injection": "enabled" } })).toBeDefined();
    expect(inject(appPod(), PLAIN)).toBeUndefined();
  });

  it("injects a pod labelled sidecar.jibe.dev/inject=true in any ordinary namespace", () => {
    expect(inject(appPod({ labels: { "sidecar.jibe.dev/inject": "true" } }), PLAIN)).toBeDefined();
  });

  it("honours opt-outs: sidecar.jibe.dev/inject=false and sidecar.istio.io/inject=false (label or annotation)", () => {
    expect(inject(appPod({ labels: { "sidecar.jibe.dev/inject": "false" } }))).toBeUndefined();
    expect(inject(appPod({ labels: { "sidecar.istio.io/inject": "false" } }))).toBeUndefined();
    expect(inject(appPod({ annotations: { "sidecar.istio.io/inject": "false" } }))).toBeUndefined();
    expect(
      inject(appPod({ labels: { "sidecar.jibe.dev/inject": "true" } }), {
        name: "shop",
        labels: { "istio-injection": "disabled" },
      }),
    ).toBeUndefined();
  });

  it("never injects system namespaces, the mesh's own namespace or hostNetwork pods", () => {
    const optIn = appPod({ labels: { "sidecar.jibe.dev/inject": "true" } });
    for (const name of ["kube-system", "kube-public", "kube-node-lease", "jibe-system"]) {
      expect(inject(optIn, { name, labels: { "jibe-injection": "enabled" } }), name).toBeUndefined();
    }
    expect(
      inject(optIn, { name: "mesh", labels: {} }, { ...OPTIONS, meshNamespace: "mesh" }),
    ).toBeUndefined();
    expect(inject(appPod({ spec: { hostNetwork: true } }))).toBeUndefined();
  });

  it("leaves an already injected pod alone (by Jibe or by Istio)", () => {
    const once = inject(appPod());
    expect(once).toBeDefined();
    expect(inject(once as Pod)).toBeUndefined();
    expect(inject(appPod({ annotations: { "sidecar.istio.io/status": "{}" } }))).toBeUndefined();
  });
});

describe("the injected pod", () => {
  it("runs the proxy as a native sidecar after the capture init container on Kubernetes >= 1.29", () => {
    const pod = inject(appPod({ spec: { initContainers: [{ name: "migrate", image: "migrate:1" }] } }));
    expect(names(pod?.spec?.initContainers)).toEqual(["jibe-init", "jibe-proxy", "migrate"]);
    expect(names(pod?.spec?.containers)).toEqual(["reviews"]);
    const proxy = find(pod?.spec?.initContainers, "jibe-proxy");
    expect(proxy?.restartPolicy).toBe("Always");
    // The kubelet starts later containers only after this passes: the app waits for the proxy.
    expect(proxy?.startupProbe?.httpGet).toMatchObject({ path: "/healthz/ready", port: 15020 });
    // ... on the admin port the proxy itself is told to serve (workers/sidecar/admin.ts answers it).
    expect(runtimeEnv(pod as Pod, proxy).JIBE_SIDECAR_ADMIN_PORT).toBe("15020");
  });

  it("runs the proxy as the first regular container that holds the app until ready before 1.29", () => {
    const pod = inject(appPod(), ENABLED, LEGACY);
    expect(names(pod?.spec?.initContainers)).toEqual(["jibe-init"]);
    expect(names(pod?.spec?.containers)).toEqual(["jibe-proxy", "reviews"]);
    expect(pod?.spec?.containers?.[0]?.lifecycle).toEqual({
      postStart: { exec: { command: ["jibe", "proxy", "wait"] } },
    });
    expect(pod?.metadata?.annotations?.["kubectl.kubernetes.io/default-container"]).toBe("reviews");
  });

  it("runs the proxy as UID 1337 without privileges, and only the init container gets NET_ADMIN", () => {
    const pod = inject(appPod());
    const proxy = find(pod?.spec?.initContainers, "jibe-proxy");
    const init = find(pod?.spec?.initContainers, "jibe-init");
    expect(proxy?.securityContext).toMatchObject({
      runAsUser: 1337,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
    });
    expect(proxy?.securityContext).toMatchObject({ capabilities: { drop: ["ALL"] } });
    expect(init?.securityContext).toMatchObject({
      capabilities: { add: ["NET_ADMIN", "NET_RAW"] },
      privileged: false,
    });
  });

  it("gives the init container capture rules that follow the pod's traffic annotations", () => {
    const pod = inject(
      appPod({
        annotations: {
          "traffic.sidecar.istio.io/excludeOutboundPorts": "3306",
          "traffic.sidecar.istio.io/excludeInboundPorts": "9090",
          "traffic.sidecar.istio.io/excludeOutboundIPRanges": "169.254.169.254/32",
        },
      }),
    );
    const rules = envOf(find(pod?.spec?.initContainers, "jibe-init"), "JIBE_IPTABLES_RULES") ?? "";
    const out = (dport: number, daddr = "10.96.0.9") =>
      routePacket(rules, { hook: "OUTPUT", dport, daddr, uid: 1000 });
    expect(routePacket(rules, { hook: "PREROUTING", dport: 9080, daddr: "10.1.1.1" })).toBe(15006);
    expect(routePacket(rules, { hook: "PREROUTING", dport: 9090, daddr: "10.1.1.1" })).toBeUndefined();
    expect(out(9080)).toBe(15001);
    expect(out(3306)).toBeUndefined();
    expect(out(80, "169.254.169.254")).toBeUndefined();
  });

  it("rewrites HTTP probes to the proxy's /app-health endpoints and keeps the originals", () => {
    const pod = inject(
      appPod({
        spec: {
          containers: [
            {
              name: "reviews",
              ports: [{ name: "http", containerPort: 9080 }],
              livenessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 5 },
              readinessProbe: { httpGet: { path: "/ready", port: 9080, scheme: "HTTP" }, timeoutSeconds: 2 },
              startupProbe: { tcpSocket: { port: 9080 } },
            },
            { name: "worker", startupProbe: { httpGet: { path: "/started", port: 7070 } } },
          ],
        },
      }),
    );
    const [reviews, worker] = pod?.spec?.containers ?? [];
    expect(reviews?.livenessProbe).toEqual({
      httpGet: { path: "/app-health/reviews/livez", port: 15020, scheme: "HTTP" },
      periodSeconds: 5,
    });
    expect(reviews?.readinessProbe?.httpGet).toMatchObject({
      path: "/app-health/reviews/readyz",
      port: 15020,
    });
    expect(reviews?.startupProbe).toEqual({ tcpSocket: { port: 9080 } });
    expect(worker?.startupProbe?.httpGet).toMatchObject({ path: "/app-health/worker/startupz", port: 15020 });

    const originals = JSON.parse(pod?.metadata?.annotations?.["sidecar.jibe.dev/app-probers"] ?? "{}");
    expect(originals["/app-health/reviews/livez"]).toMatchObject({
      httpGet: { path: "/health", port: 9080 },
    });
    expect(originals["/app-health/reviews/readyz"]).toMatchObject({
      httpGet: { path: "/ready", port: 9080 },
      timeoutSeconds: 2,
    });
    expect(originals["/app-health/worker/startupz"]).toMatchObject({
      httpGet: { path: "/started", port: 7070 },
    });
    const proxy = find(pod?.spec?.initContainers, "jibe-proxy");
    expect(JSON.parse(envOf(proxy, "JIBE_KUBE_APP_PROBERS") ?? "{}")).toEqual(originals);
  });

  it("rewrites probes on the right containers when the proxy is inserted first (before 1.29)", () => {
    const pod = inject(
      appPod({
        spec: {
          containers: [{ name: "a" }, { name: "b", readinessProbe: { httpGet: { path: "/r", port: 80 } } }],
        },
      }),
      ENABLED,
      LEGACY,
    );
    expect(names(pod?.spec?.containers)).toEqual(["jibe-proxy", "a", "b"]);
    expect(find(pod?.spec?.containers, "b")?.readinessProbe?.httpGet?.path).toBe("/app-health/b/readyz");
    expect(find(pod?.spec?.containers, "a")?.readinessProbe).toBeUndefined();
  });

  it("keeps probes as they are with sidecar.istio.io/rewriteAppHTTPProbers=false", () => {
    const probe = { httpGet: { path: "/ready", port: 9080 } };
    const pod = inject(
      appPod({
        annotations: { "sidecar.istio.io/rewriteAppHTTPProbers": "false" },
        spec: { containers: [{ name: "r", readinessProbe: probe }] },
      }),
    );
    expect(pod?.spec?.containers?.[0]?.readinessProbe).toEqual(probe);
  });

  it("keeps the pod's own annotations and escapes annotation keys in the patch", () => {
    const pod = inject(appPod({ annotations: { "prometheus.io/scrape": "true" } }));
    expect(pod?.metadata?.annotations?.["prometheus.io/scrape"]).toBe("true");
    expect(JSON.parse(pod?.metadata?.annotations?.["sidecar.jibe.dev/status"] ?? "{}")).toMatchObject({
      nativeSidecar: true,
    });
  });

  it("refuses capture annotations it cannot apply, naming the annotation", () => {
    expect(() =>
      inject(appPod({ annotations: { "traffic.sidecar.istio.io/includeInboundPorts": "http" } })),
    ).toThrow(/includeInboundPorts/);
  });
});

type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } };
type Volume = {
  name: string;
  projected?: {
    sources: { serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }[];
  };
};

/** The proxy's environment as the kubelet gives it: downward-API fields resolved from the running Pod. */
function runtimeEnv(pod: Pod, proxy: Container | undefined): Record<string, string> {
  const fields: Record<string, string> = {
    "metadata.name": pod.metadata?.name ?? "",
    "metadata.namespace": pod.metadata?.namespace ?? "default",
    "spec.serviceAccountName": (pod.spec?.serviceAccountName as string | undefined) ?? "default",
    "status.podIP": "10.1.1.1",
  };
  const env: Record<string, string> = {};
  // $(VAR) refers to a variable defined earlier in the list, as the kubelet expands it.
  for (const e of (proxy?.env ?? []) as EnvVar[])
    env[e.name] =
      e.value?.replace(/\$\(([A-Z0-9_]+)\)/g, (whole, name: string) => env[name] ?? whole) ??
      fields[e.valueFrom?.fieldRef.fieldPath ?? ""] ??
      "";
  return env;
}

/** The file a path names in the proxy container: the projected token behind its volume mount, if any. */
function mountedToken(pod: Pod, proxy: Container | undefined, path: string) {
  const mounts = (proxy?.volumeMounts ?? []) as { name: string; mountPath: string }[];
  const mount = mounts.find((m) => path.startsWith(`${m.mountPath}/`));
  const volume = ((pod.spec?.volumes ?? []) as Volume[]).find((v) => v.name === mount?.name);
  const file = mount ? path.slice(mount.mountPath.length + 1) : undefined;
  return volume?.projected?.sources.find((s) => s.serviceAccountToken?.path === file)?.serviceAccountToken;
}

describe("what the injected proxy needs to run in the pod", () => {
  const shopPod = (spec: Partial<Pod["spec"]> = {}) => {
    const pod = appPod({ labels: { version: "v1" }, spec: { serviceAccountName: "reviews", ...spec } });
    return { ...pod, metadata: { ...pod.metadata, namespace: "shop" } };
  };

  it("gets its workload identity from a projected service-account token for the mesh audience", () => {
    for (const opts of [OPTIONS, LEGACY]) {
      const pod = inject(shopPod(), ENABLED, opts) as Pod;
      const proxy = find(pod.spec?.initContainers, "jibe-proxy") ?? find(pod.spec?.containers, "jibe-proxy");
      const identity = readIdentityEnv(runtimeEnv(pod, proxy), () => "token");
      expect(identity?.id).toEqual({
        trustDomain: "cluster.local",
        namespace: "shop",
        serviceAccount: "reviews",
      });
      expect(identity?.credential.type).toBe("kubernetes");
      const file = identity?.credential.type === "kubernetes" ? identity.credential.tokenFile : "";
      // The file the sidecar reads at every renewal is a kubelet-refreshed token the CA can TokenReview.
      expect(mountedToken(pod, proxy, file)).toEqual({
        audience: "jibe",
        expirationSeconds: 3600,
        path: "token",
      });
    }
  });

  it("keeps the pod's own volumes and projects the audience the control plane checks", () => {
    const own = { name: "data", emptyDir: {} };
    const pod = inject(shopPod({ volumes: [own] }), ENABLED, { ...OPTIONS, tokenAudience: "mesh-ca" }) as Pod;
    const proxy = find(pod.spec?.initContainers, "jibe-proxy");
    expect(((pod.spec?.volumes ?? []) as Volume[])[0]).toEqual(own);
    const file = runtimeEnv(pod, proxy).JIBE_SERVICE_ACCOUNT_TOKEN_FILE ?? "";
    expect(mountedToken(pod, proxy, file)?.audience).toBe("mesh-ca");
    expect(inject(shopPod({ volumes: [{ name: "jibe-token", emptyDir: {} }] }))).toBeUndefined();
  });

  it("serves the rewritten probes on its admin port, listens where captured traffic arrives, and joins the bus", () => {
    const pod = inject(
      shopPod({
        containers: [
          {
            name: "reviews",
            ports: [{ name: "http", containerPort: 9080 }],
            readinessProbe: { httpGet: { path: "/ready", port: "http" } },
          },
        ],
      }),
      ENABLED,
      {
        ...OPTIONS,
        trustDomain: "example.org",
        proxyEnv: [
          { name: "JIBE_NATS_URL", value: "nats://jibe-nats.jibe-system.svc:4222" },
          { name: "JIBE_TRUST_JWKS", value: '{"keys":[]}' },
        ],
      },
    ) as Pod;
    const proxy = find(pod.spec?.initContainers, "jibe-proxy");
    const env = runtimeEnv(pod, proxy);
    const sidecar = readSidecarEnv(env, "/nonexistent");
    const probe = pod.spec?.containers?.[0]?.readinessProbe?.httpGet;
    expect(sidecar.adminPort).toBe(probe?.port);
    expect(sidecar.appProbers?.[probe?.path ?? ""]).toBeDefined();
    expect(sidecar).toMatchObject({
      host: "0.0.0.0",
      appPort: 9080,
      inboundPort: 15006,
      outboundPort: 15001,
      natsUrl: "nats://jibe-nats.jibe-system.svc:4222",
      trustJwks: '{"keys":[]}',
      proxy: { namespace: "shop", labels: { app: "reviews", version: "v1" } },
    });
    expect(readIdentityEnv(env, () => "token")?.id.trustDomain).toBe("example.org");
    // Each replica is its own proxy (its own policy session and reports), named after its Pod.
    expect(sidecar.proxy.id).toBe(`sidecar~${pod.metadata?.name}.shop~shop`);
  });
});

describe("supportsNativeSidecars", () => {
  it("is true from Kubernetes 1.29 and rejects what is not a version", () => {
    expect(supportsNativeSidecars("1.28")).toBe(false);
    expect(supportsNativeSidecars("v1.29.0-gke.1")).toBe(true);
    expect(supportsNativeSidecars("1.33")).toBe(true);
    expect(() => supportsNativeSidecars("latest")).toThrow(
      /kubernetesVersion: "latest" is not a Kubernetes version/,
    );
  });
});
