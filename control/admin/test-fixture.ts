import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { createVerifier } from "../../broker/envelope.ts";
import { subscribeEvents } from "../../broker/event-subscriber.ts";
import type { MeshEvent } from "../../broker/events.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import type { NatsServerHandle } from "../../broker/nats-launcher.ts";
import { startTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { type RunningControlPlane, startControlPlane } from "../plane/start.ts";

/**
 * Test support (not a test): a real nats-server, a control plane on a free port with its own
 * `$JIBE_HOME`, and every verified event the bus carried since, for asserting what was published.
 *
 * @example
 * ```ts
 * const fx = await startAdminFixture();
 * const res = await fx.api("/api/v1/apply", { method: "POST", body: REVIEWS_V1, type: "application/yaml" });
 * await fx.waitForEvents(1);
 * await fx.stop();
 * ```
 */
export interface AdminFixture {
  nats: NatsServerHandle;
  nc: NatsConnection;
  home: string;
  cp: RunningControlPlane;
  /** Verified events seen on the bus, in arrival order. */
  events: MeshEvent[];
  /** Calls the admin API; `token: null` sends no Authorization header, a string sends that one. */
  api(
    path: string,
    init?: { method?: string; body?: string; type?: string; token?: string | null },
  ): Promise<Response>;
  /** Resolves once `count` events in total have been seen. */
  waitForEvents(count: number): Promise<MeshEvent[]>;
  stop(): Promise<void>;
}

export async function startAdminFixture(): Promise<AdminFixture> {
  const nats = await startTestNats();
  const nc = await connectNats(nats.url);
  const home = await mkdtemp(join(tmpdir(), "jibe-admin-test-"));
  const cp = await startControlPlane({ nc, home, admin: { port: 0 } });
  const events: MeshEvent[] = [];
  const sub = subscribeEvents(nc, await createVerifier(cp.trustJwks), { onEvent: (e) => events.push(e) });
  await nc.flush();
  return {
    nats,
    nc,
    home,
    cp,
    events,
    api(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.token !== null) headers.authorization = `Bearer ${init.token ?? cp.token}`;
      if (init.type) headers["content-type"] = init.type;
      return fetch(`${cp.adminUrl}${path}`, {
        method: init.method ?? "GET",
        headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
      });
    },
    waitForEvents: (count) => waitFor(() => events.length >= count && events, { what: `${count} events` }),
    async stop() {
      sub.stop();
      await cp.stop();
      await nc.close();
      await nats.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export const REVIEWS_V1 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
`;

export const REVIEWS_V3 = REVIEWS_V1.replace("subset: v1", "subset: v3");

export const REVIEWS_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v3
    labels: {version: v3}
`;

export const RATINGS_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: ratings
  namespace: bookinfo
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
`;

/** A multi-document file whose last document has a wrong field type (`hosts` is not a list). */
export const ONE_BAD_OF_THREE = `${REVIEWS_RULE}---
${RATINGS_SERVICE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: ratings
`;
