import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import type { KubeObject } from "../../test/k8s-apiserver/object-store.ts";
import { resourceType } from "../../test/k8s-apiserver/resource-types.ts";
import { reconcileWorkloads } from "../../test/k8s-apiserver/workload-controllers.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { decideRoute } from "../../workers/engine/index.ts";
import { type RoutePolicy, startRoutePolicy } from "../../workers/sidecar/route-policy.ts";
import { WATCHED_KINDS } from "./kube-client.ts";
import { CLUSTER_ANNOTATION } from "./mesh-documents.ts";
import { sample, startTestCluster, type TestCluster } from "./test-cluster.ts";

const server = useTestNats();
let nc: NatsConnection;
let cluster: TestCluster;
let sidecar: RoutePolicy; // the sidecar's policy half: policy sync, incremental compile, route table

const ISTIO = "networking.istio.io/v1";

beforeAll(async () => {
  nc = await connectNats(server().url);
  cluster = await startTestCluster(nc);
  for (const doc of [
    ...sample("networking/destination-rule-all.yaml"),
    ...sample("networking/virtual-service-reviews-jason-v2-v3.yaml"),
  ])
    cluster.api.apply(doc);
  sidecar = await startRoutePolicy({
    nc,
    verifier: cluster.verifier,
    log: silentLogger,
    proxy: {
      id: "sidecar~productpage-v1-0~default",
      role: "sidecar",
      namespace: "default",
      labels: { app: "productpage", version: "v1" },
    },
  });
});

afterAll(async () => {
  await sidecar?.stop();
  await cluster?.stop();
  await nc?.close();
});

function podIp(name: string): string {
  const pod = cluster.api.store.list(resourceType("Pod")).find((p) => p.metadata.name === name);
  return (pod!.status as { podIP: string }).podIP;
}

/** Which reviews subset a request from productpage goes to, as the sidecar's engine decides it now. */
function reviewsRoute(headers: Record<string, string> = {}): string | undefined {
  const decision = decideRoute(
    sidecar.current().table,
    { authority: "reviews:9080", path: "/reviews/0", method: "GET", scheme: "http", headers },
    () => 0,
  );
  return decision.kind === "forward"
    ? `${decision.cluster.subset}@${decision.cluster.endpoints.map((e) => e.address).join(",")}`
    : decision.kind;
}

/**
 * The bus events caused by `action`: waits for `expected` of them, then for a quiet period with the
 * adapter idle, so an extra (duplicate or spurious) event would be caught too.
 */
async function eventsDuring(expected: number, action: () => Promise<void> | void): Promise<string[]> {
  const before = cluster.events.length;
  await action();
  await waitFor(() => cluster.events.length >= before + expected, { what: `${expected} bus event(s)` });
  for (let seen = -1; seen !== cluster.events.length; ) {
    seen = cluster.events.length;
    await new Promise((r) => setTimeout(r, 300));
    await cluster.adapter.idle();
    await nc.flush();
  }
  return cluster.events.slice(before).map((e) => `${e.type} ${e.ref.kind}/${e.ref.name}`);
}

describe("Kubernetes adapter: bookinfo from the API server to a sidecar", () => {
  it("publishes Services, Pods as WorkloadEntries and Istio rules, and the sidecar routes with them", async () => {
    await waitFor(() => reviewsRoute({ "end-user": "jason" }) === `v2@${podIp("reviews-v2-0")}`, {
      what: "jason → reviews v2",
    });
    expect(reviewsRoute()).toBe(`v3@${podIp("reviews-v3-0")}`);
    const entries = await cluster.plane.list({ kind: "WorkloadEntry" });
    expect(entries.map((e) => e.ref.name).sort()).toEqual(
      [
        "details-v1-0",
        "productpage-v1-0",
        "ratings-v1-0",
        "reviews-v1-0",
        "reviews-v2-0",
        "reviews-v3-0",
      ].map((n) => `${n}.east`),
    );
    const reviewsV2 = entries.find((e) => e.ref.name === "reviews-v2-0.east")!.resource;
    expect(reviewsV2.spec).toEqual({
      address: podIp("reviews-v2-0"),
      ports: { http: 9080 },
      labels: { app: "reviews", version: "v2", "topology.istio.io/cluster": "east" },
      serviceAccount: "bookinfo-reviews",
    });
    const services = await cluster.plane.list({ kind: "Service" });
    expect(services.map((s) => s.resource.metadata.annotations?.[CLUSTER_ANNOTATION])).toEqual([
      "east",
      "east",
      "east",
      "east",
    ]);
    expect(services[0]!.resource.spec).not.toHaveProperty("clusterIP");
    expect(cluster.adapter.stats).toMatchObject({ rejected: 0, watchErrors: 0 });
    // Services, Pods, DestinationRules, VirtualService, Namespace default (for listener selectors)
    expect(cluster.adapter.stats.applied).toBe(4 + 6 + 4 + 1 + 1);
  });

  it("follows a change and a deletion, one bus event each", async () => {
    const vs = cluster.api.store.list(resourceType("VirtualService"))[0]!;
    const events = await eventsDuring(1, () => {
      cluster.api.apply({
        ...vs,
        spec: { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews", subset: "v1" } }] }] },
      });
    });
    expect(events).toEqual(["resource.applied VirtualService/reviews"]);
    await waitFor(() => reviewsRoute({ "end-user": "jason" }) === `v1@${podIp("reviews-v1-0")}`, {
      what: "all → v1",
    });
    expect(
      await eventsDuring(1, () => void cluster.api.remove(ISTIO, "DestinationRule", "default", "ratings")),
    ).toEqual(["resource.deleted DestinationRule/ratings"]);
  });
});

describe("Kubernetes adapter: ServiceEntry, Sidecar and Istio Gateway", () => {
  it("publishes them like the other Istio kinds, and the sidecar routes the ServiceEntry host", async () => {
    const docs = sample("networking/egress-rule-google-apis.yaml");
    const events = await eventsDuring(docs.length, () => {
      for (const doc of docs) cluster.api.apply(doc);
    });
    expect(events.sort()).toEqual([
      "resource.applied DestinationRule/originate-tls-for-googleapis",
      "resource.applied ServiceEntry/googleapis",
      "resource.applied VirtualService/rewrite-port-for-googleapis",
    ]);
    const googleapis = () =>
      decideRoute(
        sidecar.current().table,
        { authority: "www.googleapis.com", path: "/", method: "GET", scheme: "http", headers: {} },
        () => 0,
      );
    await waitFor(() => googleapis().kind === "forward", { what: "www.googleapis.com routed" });
    expect(googleapis()).toMatchObject({ cluster: { name: "outbound|443||www.googleapis.com" } });
    const scoped = await eventsDuring(2, () => {
      cluster.api.apply({
        apiVersion: ISTIO,
        kind: "Sidecar",
        metadata: { name: "default", namespace: "default" },
        spec: {
          egress: [{ hosts: ["./*.svc.cluster.local"] }],
          outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
        },
      });
      for (const doc of sample("networking/bookinfo-gateway.yaml").filter((d) => d.kind === "Gateway"))
        cluster.api.apply(doc);
    });
    expect(scoped.sort()).toEqual([
      "resource.applied Gateway/bookinfo-gateway",
      "resource.applied Sidecar/default",
    ]);
    await waitFor(() => googleapis().kind === "direct", {
      what: "REGISTRY_ONLY without googleapis in scope",
    });
    expect(googleapis()).toMatchObject({ status: 502, flag: "NR" });
    await eventsDuring(1, () => void cluster.api.remove(ISTIO, "Sidecar", "default", "default"));
  });
});

describe("Kubernetes adapter: watch expiry, bookmarks, API-server restart", () => {
  it("resyncs after 410 Gone with no event when nothing changed", async () => {
    const lists = cluster.api.requests.lists;
    const events = await eventsDuring(0, async () => {
      // Watched (a Pod) but behind no Service: nothing for the mesh.
      cluster.api.apply({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "unrelated", namespace: "default", labels: { app: "unrelated" } },
        spec: { containers: [{ name: "app", image: "unrelated" }] },
      });
      cluster.api.dropWatches();
      cluster.api.compact();
      await waitFor(() => cluster.api.requests.lists >= lists + 6, { what: "informers relist" });
    });
    expect(events).toEqual([]);
  });

  it("relists after 410 Gone without losing or duplicating the changes it missed", async () => {
    const lists = cluster.api.requests.lists;
    const events = await eventsDuring(3, async () => {
      cluster.api.dropWatches(); // the changes below happen while no watch is open, then history is compacted
      cluster.api.remove(ISTIO, "DestinationRule", "default", "details");
      cluster.api.apply(vsFor("ratings", "v1"));
      scaleReviews(0, "reviews-v3");
      cluster.api.compact();
      await waitFor(() => cluster.api.requests.lists >= lists + 6, { what: "informers relist" });
    });
    expect(events.sort()).toEqual([
      "resource.applied VirtualService/ratings",
      "resource.deleted DestinationRule/details",
      "resource.deleted WorkloadEntry/reviews-v3-0.east",
    ]);
  });

  it("resumes from a bookmark without relisting", async () => {
    cluster.api.apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "bookmarked", namespace: "default", labels: { app: "bookmarked" } },
      spec: { containers: [{ name: "app", image: "bookmarked" }] },
    });
    cluster.api.bookmark();
    await new Promise((r) => setTimeout(r, 100)); // bookmarks reach the informers
    const lists = cluster.api.requests.lists;
    const watches = cluster.api.requests.watches;
    const events = await eventsDuring(1, async () => {
      cluster.api.compact();
      cluster.api.dropWatches();
      await waitFor(() => cluster.api.requests.watches >= watches + Object.keys(WATCHED_KINDS).length, {
        what: "informers watch again",
      });
      cluster.api.apply(vsFor("details", "v1"));
    });
    expect(cluster.api.requests.lists).toBe(lists);
    expect(events).toEqual(["resource.applied VirtualService/details"]);
  });

  it("survives an API-server restart, catching up with what changed while it was down", async () => {
    const events = await eventsDuring(2, async () => {
      const restarting = cluster.api.restart({ downMs: 300 });
      cluster.api.remove(ISTIO, "VirtualService", "default", "details"); // the store (etcd) outlives the server
      scaleReviews(1, "reviews-v3");
      await restarting;
      await waitFor(() => cluster.api.openWatches === Object.keys(WATCHED_KINDS).length, {
        what: "informers watch again",
      });
    });
    expect(events.sort()).toEqual([
      "resource.applied WorkloadEntry/reviews-v3-0.east",
      "resource.deleted VirtualService/details",
    ]);
    expect(cluster.adapter.stats.watchErrors).toBeGreaterThan(0);
  });
});

describe("Kubernetes adapter: restart of the adapter itself", () => {
  it("re-applies everything as unchanged (no event) and deletes what went away while it was down", async () => {
    const events = await eventsDuring(1, async () => {
      await cluster.restartAdapter({
        whileDown: () => void cluster.api.remove(ISTIO, "VirtualService", "default", "ratings"),
      });
    });
    expect(events).toEqual(["resource.deleted VirtualService/ratings"]);
    expect(cluster.adapter.stats.applied).toBe(0);
  });
});

describe("Kubernetes adapter: invalid resources", () => {
  it("never publishes an invalid VirtualService: Accepted=False with the field, and a Warning Event", async () => {
    const bad = {
      ...vsFor("broken", "v1"),
      spec: {
        hosts: ["reviews"],
        http: [{ route: [{ destination: { host: "reviews" } }], timeout: "soon" }],
      },
    };
    const events = await eventsDuring(0, async () => {
      cluster.api.apply(bad);
      await waitFor(
        () => cluster.api.store.get(resourceType("VirtualService"), "default", "broken")?.status,
        {
          what: "a status on the invalid VirtualService",
        },
      );
    });
    expect(events).toEqual([]);
    await expect(
      cluster.plane.get({ kind: "VirtualService", namespace: "default", name: "broken" }),
    ).rejects.toMatchObject({ code: "not-found" });
    const stored = cluster.api.store.get(resourceType("VirtualService"), "default", "broken");
    const condition = (stored!.status as { conditions: { type: string; status: string; message: string }[] })
      .conditions[0];
    expect(condition).toMatchObject({
      type: "Accepted",
      status: "False",
      reason: "Invalid",
      observedGeneration: 1,
    });
    expect(condition?.message).toMatch(/spec\.http\[0\]\.timeout: "soon" is not a duration/);
    const warnings = cluster.api.store.list(resourceType("Event"), "default");
    expect(warnings).toEqual([
      expect.objectContaining({
        type: "Warning",
        reason: "Invalid",
        involvedObject: expect.objectContaining({ kind: "VirtualService", name: "broken" }),
      }),
    ]);
    expect(warnings[0]?.message).toMatch(/spec\.http\[0\]\.timeout: "soon" is not a duration/);

    const fixed = await eventsDuring(1, () => void cluster.api.apply(vsFor("broken", "v2")));
    expect(fixed).toEqual(["resource.applied VirtualService/broken"]);
    const accepted = cluster.api.store.get(resourceType("VirtualService"), "default", "broken");
    expect(accepted?.status).toMatchObject({
      observedGeneration: 2,
      conditions: [{ type: "Accepted", status: "True" }],
    });
    expect(cluster.api.store.list(resourceType("Event"), "default")).toHaveLength(1);
  });
});

function vsFor(host: string, subset: string): KubeObject {
  return {
    apiVersion: ISTIO,
    kind: "VirtualService",
    metadata: { name: host, namespace: "default" },
    spec: { hosts: [host], http: [{ route: [{ destination: { host, subset } }] }] },
  };
}

function scaleReviews(replicas: number, name: string): void {
  const deployment = cluster.api.store
    .list(resourceType("Deployment"))
    .find((d) => d.metadata.name === name)!;
  cluster.api.apply({ ...deployment, spec: { ...(deployment.spec as object), replicas } });
  reconcileWorkloads(cluster.api);
}
