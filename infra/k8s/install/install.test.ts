import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { findNatsServer } from "../../../broker/nats-launcher.ts";
import { decideInjection } from "../../../control/injector/injection-policy.ts";
import { natsConfig, STATE_SECRET } from "./install-objects.ts";
import { renderAdapterRbac, renderHelmChart, renderHelmTemplate, renderManifest } from "./render.ts";
import { MESH_NAMESPACE, PROFILE_NAMES, PROFILES, type ProfileName } from "./values.ts";

type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
};
type Selector = { matchExpressions: { key: string; operator: string; values?: string[] }[] };

const infra = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, infra), "utf8");
const parse = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
const manifest = (profile: ProfileName) => parse(read(`k8s/manifests/${profile}.yaml`));
const CLUSTER_SCOPED = [
  "Namespace",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
  "MutatingWebhookConfiguration",
];

describe("install manifests and Helm chart", () => {
  it("are exactly what infra/k8s/install generates (run node infra/k8s/install/write-install.ts after a change)", () => {
    for (const profile of PROFILE_NAMES)
      expect(read(`k8s/manifests/${profile}.yaml`), profile).toBe(renderManifest(profile));
    expect(readdirSync(new URL("k8s/manifests/", infra)).sort()).toEqual(
      PROFILE_NAMES.map((p) => `${p}.yaml`).sort(),
    );
    const chart = renderHelmChart();
    const onDisk = readdirSync(new URL("helm/jibe/", infra), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(new URL("helm/jibe/", infra).pathname.length));
    expect(onDisk.sort()).toEqual([...chart.keys()].sort());
    for (const [file, text] of chart) expect(read(`helm/jibe/${file}`), file).toBe(text);
    expect(read("k8s/adapter-rbac.yaml")).toBe(renderAdapterRbac());
  });

  it("render, with each profile's values, to the same objects as that profile's plain manifest", () => {
    const chart = renderHelmChart();
    for (const profile of PROFILE_NAMES) {
      const values = PROFILES[profile];
      const rendered = [...chart]
        .filter(([file]) => file.startsWith("crds/") || file.startsWith("templates/"))
        .map(([file, text]) => (file.startsWith("templates/") ? renderHelmTemplate(text, values) : text));
      const byKey = (objects: KubeObject[]) =>
        new Map(objects.map((o) => [`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]));
      expect(byKey(rendered.flatMap(parse)), profile).toEqual(byKey(manifest(profile)));
    }
  });

  it("differ by profile: 3 NATS servers by default, 1 in demo and minimal; no injector in minimal", () => {
    const find = (profile: ProfileName, kind: string) => manifest(profile).find((o) => o.kind === kind);
    const replicas = (p: ProfileName) =>
      (find(p, "StatefulSet")?.spec as { replicas?: number } | undefined)?.replicas;
    expect([replicas("default"), replicas("demo"), replicas("minimal")]).toEqual([3, 1, 1]);
    expect(find("default", "MutatingWebhookConfiguration")).toBeDefined();
    expect(find("minimal", "MutatingWebhookConfiguration")).toBeUndefined();
    const env = (p: ProfileName) =>
      (
        find(p, "Deployment")?.spec as
          | { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } }
          | undefined
      )?.template.spec.containers[0]?.env.find((e) => e.name === "JIBE_INJECTOR")?.value;
    expect([env("default"), env("minimal")]).toEqual(["true", "false"]);
  });

  it("hold only well-formed objects whose references resolve", () => {
    for (const profile of PROFILE_NAMES) {
      const objects = manifest(profile);
      const names = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
      for (const o of objects) {
        const id = `${profile}: ${o.kind}/${o.metadata?.name}`;
        expect(o.apiVersion, id).toMatch(/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/);
        expect(o.metadata.name, id).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
        expect(o.metadata.labels?.["app.kubernetes.io/part-of"], id).toBe("jibe");
        expect(o.metadata.namespace, id).toBe(CLUSTER_SCOPED.includes(o.kind) ? undefined : MESH_NAMESPACE);
      }
      const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
      for (const w of workloads) {
        const spec = w.spec as {
          selector: { matchLabels: Record<string, string> };
          template: {
            metadata: { labels: Record<string, string> };
            spec: {
              serviceAccountName?: string;
              containers: { ports: { containerPort: number }[] }[];
              volumes?: { configMap?: { name: string } }[];
            };
          };
        };
        for (const [k, v] of Object.entries(spec.selector.matchLabels))
          expect(spec.template.metadata.labels[k], `${w.kind} selector ${k}`).toBe(v);
        const sa = spec.template.spec.serviceAccountName;
        if (sa) expect(names.has(`ServiceAccount/${sa}`), sa).toBe(true);
        for (const volume of spec.template.spec.volumes ?? [])
          if (volume.configMap) expect(names.has(`ConfigMap/${volume.configMap.name}`)).toBe(true);
      }
      for (const service of objects.filter((o) => o.kind === "Service")) {
        const spec = service.spec as {
          selector: Record<string, string>;
          ports: { name: string; targetPort: number }[];
        };
        const backing = workloads.find((w) =>
          Object.entries(spec.selector).every(
            ([k, v]) =>
              (w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
                .labels[k] === v,
          ),
        );
        expect(backing, `Service ${service.metadata.name} selects a workload`).toBeDefined();
        const containerPorts = (
          backing?.spec as
            | { template: { spec: { containers: { ports: { containerPort: number }[] }[] } } }
            | undefined
        )?.template.spec.containers.flatMap((c) => c.ports.map((p) => p.containerPort));
        for (const port of spec.ports) {
          expect(containerPorts, `${service.metadata.name} ${port.name}`).toContain(port.targetPort);
          expect(port.name, "ports name their protocol").toMatch(/^(http|https|tcp|grpc)(-|$)/);
        }
      }
    }
  });

  it("give NATS a configuration the real nats-server accepts", async () => {
    const binary = await findNatsServer();
    if (!binary) throw new Error("nats-server not found (apt install nats-server; .ci/run does)");
    const dir = mkdtempSync(join(tmpdir(), "jibe-nats-conf-"));
    try {
      const file = join(dir, "nats.conf");
      writeFileSync(file, natsConfig(3).replace("/data/jetstream", join(dir, "js")));
      // -t: parse and check the configuration, then exit (non-zero, with the reason, when invalid).
      const checked = spawnSync(binary, ["-t", "-c", file], {
        env: { ...process.env, POD_NAME: "jibe-nats-0" },
        encoding: "utf8",
      });
      expect(checked.stderr).toContain(`configuration file ${file} is valid`);
      expect(checked.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("call the webhook for exactly the Pods the injector injects, and only once", () => {
    const webhooks = (
      manifest("default").find((o) => o.kind === "MutatingWebhookConfiguration") as unknown as {
        webhooks: { namespaceSelector: Selector; objectSelector: Selector }[];
      }
    ).webhooks;
    const nsLabelSets: Record<string, string>[] = [
      {},
      { "jibe-injection": "enabled" },
      { "istio-injection": "enabled" },
    ];
    const extra: Record<string, string>[] = [
      { "jibe-injection": "disabled" },
      { "istio-injection": "disabled" },
    ];
    const podLabelSets: Record<string, string>[] = [
      {},
      { "sidecar.jibe.dev/inject": "true" },
      { "sidecar.jibe.dev/inject": "false" },
    ];
    for (const name of ["shop", "kube-system", "jibe-system"]) {
      for (const a of nsLabelSets) {
        for (const b of [{}, ...extra]) {
          const nsLabels: Record<string, string> = { ...a, ...b, "kubernetes.io/metadata.name": name };
          for (const podLabels of [...podLabelSets, { "sidecar.istio.io/inject": "false" }] as Record<
            string,
            string
          >[]) {
            const called = webhooks.filter(
              (w) => matches(w.namespaceSelector, nsLabels) && matches(w.objectSelector, podLabels),
            ).length;
            const decision = decideInjection(
              { metadata: { labels: podLabels } },
              { name, labels: nsLabels },
              MESH_NAMESPACE,
            );
            const where = `${JSON.stringify(nsLabels)} ${JSON.stringify(podLabels)}`;
            expect(called, where).toBeLessThanOrEqual(1);
            if (decision.inject) expect(called, where).toBe(1);
          }
        }
      }
    }
  });
});

describe("the control plane's state across restarts", () => {
  it("lives in the one Secret its Role may get and update, with JIBE_HOME only scratch", () => {
    for (const profile of PROFILE_NAMES) {
      const objects = manifest(profile);
      const deployment = objects.find((o) => o.kind === "Deployment") as unknown as {
        spec: {
          template: {
            spec: {
              containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[];
              volumes: { name: string; emptyDir?: object }[];
            };
          };
        };
      };
      const pod = deployment.spec.template.spec;
      const env = new Map(pod.containers[0]?.env.map((e) => [e.name, e]));
      const secret = env.get("JIBE_STATE_SECRET")?.value;
      expect(secret, profile).toBe(STATE_SECRET);
      expect(env.get("JIBE_NAMESPACE")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.namespace" } });
      expect(pod.volumes.find((v) => v.name === "home")?.emptyDir).toBeDefined();
      const role = objects.find((o) => o.kind === "Role" && o.metadata.name === "jibe-control-plane-state") as
        | { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] }
        | undefined;
      const secretRules = role?.rules.filter((r) => r.resources.includes("secrets")) ?? [];
      expect(secretRules).toEqual([
        { apiGroups: [""], resources: ["secrets"], resourceNames: [STATE_SECRET], verbs: ["get", "update"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      ]);
      const binding = objects.find((o) => o.kind === "RoleBinding") as
        | { roleRef: { name: string }; subjects: { name: string }[] }
        | undefined;
      expect(binding?.roleRef.name).toBe("jibe-control-plane-state");
      expect(binding?.subjects.map((s) => s.name)).toEqual(["jibe-control-plane"]);
    }
  });
});

function matches(selector: Selector, labels: Record<string, string>): boolean {
  return selector.matchExpressions.every(({ key, operator, values = [] }) => {
    const value = labels[key];
    if (operator === "In") return value !== undefined && values.includes(value);
    if (operator === "NotIn") return value === undefined || !values.includes(value);
    if (operator === "Exists") return value !== undefined;
    if (operator === "DoesNotExist") return value === undefined;
    throw new Error(`unknown operator ${operator}`);
  });
}
