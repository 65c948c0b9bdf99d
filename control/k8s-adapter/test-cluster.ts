import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { openConfigStore } from "../../broker/config-store.ts";
import { createSigner, createVerifier, generateSigningKey, type Verifier } from "../../broker/envelope.ts";
import { createEventPublisher } from "../../broker/event-publisher.ts";
import { subscribeEvents } from "../../broker/event-subscriber.ts";
import type { MeshEvent } from "../../broker/events.ts";
import { silentLogger } from "../../broker/logger.ts";
import { type ApiServerDouble, startApiServerDouble } from "../../test/k8s-apiserver/api-server.ts";
import type { KubeObject } from "../../test/k8s-apiserver/object-store.ts";
import { reconcileWorkloads } from "../../test/k8s-apiserver/workload-controllers.ts";
import { parseDocuments } from "../model/parse.ts";
import { createControlPlane } from "../plane/control-plane.ts";
import type { ControlPlane } from "../plane/types.ts";
import { type KubernetesAdapter, startKubernetesAdapter } from "./adapter.ts";
import { createKubeApi } from "./kube-client.ts";

// The Istio samples live in the shared folder beside the repository; they are read, never copied.
const SAMPLES = fileURLToPath(
  new URL("../../../shared/conformance/istio-samples/bookinfo/", import.meta.url),
);

/** The documents of one sample file, e.g. `platform/kube/bookinfo.yaml`. */
export function sample(file: string): KubeObject[] {
  return parseDocuments(readFileSync(SAMPLES + file, "utf8"), file).documents as KubeObject[];
}

/** A kubeconfig pointing at the double, as `kubectl config` would write it. */
export function kubeConfigFor(api: ApiServerDouble, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "double", server: api.url, skipTLSVerify: true }],
    users: [{ name: "adapter", token }],
    contexts: [{ name: "double", cluster: "double", user: "adapter" }],
    currentContext: "double",
  });
  return kc;
}

/** One cluster (the double, with bookinfo deployed) feeding one control plane over a real nats-server. */
export interface TestCluster {
  api: ApiServerDouble;
  plane: ControlPlane;
  verifier: Verifier;
  adapter: KubernetesAdapter;
  /** Stops the adapter (if running) and starts a new one, as a process restart would. */
  restartAdapter(opts?: { whileDown?: () => void }): Promise<KubernetesAdapter>;
  /** Every verified bus event since the start. */
  events: MeshEvent[];
  stop(): Promise<void>;
}

export async function startTestCluster(
  nc: NatsConnection,
  opts: { cluster?: string } = {},
): Promise<TestCluster> {
  const key = await generateSigningKey();
  const signer = await createSigner(key.privateJwk);
  const verifier = await createVerifier(key.publicJwks);
  const events: MeshEvent[] = [];
  const subscription = subscribeEvents(nc, verifier, { onEvent: (event) => events.push(event) });
  await nc.flush();
  const plane = createControlPlane({
    store: await openConfigStore(nc),
    publisher: createEventPublisher(nc, signer),
    signer,
    verifier,
    log: silentLogger,
  });
  const api = await startApiServerDouble({ token: "adapter-token" });
  api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } });
  for (const doc of sample("platform/kube/bookinfo.yaml")) api.apply(doc);
  reconcileWorkloads(api);
  const start = () =>
    startKubernetesAdapter({
      kube: createKubeApi(kubeConfigFor(api, "adapter-token"), { watchTimeoutSeconds: 60 }),
      mesh: plane,
      cluster: opts.cluster ?? "east",
      retryDelayMs: 50,
      log: silentLogger,
    });
  const cluster: TestCluster = {
    api,
    plane,
    verifier,
    adapter: await start(),
    events,
    async restartAdapter({ whileDown } = {}) {
      await cluster.adapter.stop();
      whileDown?.();
      cluster.adapter = await start();
      return cluster.adapter;
    },
    async stop() {
      await cluster.adapter.stop();
      subscription.stop();
      await api.stop();
    },
  };
  return cluster;
}
