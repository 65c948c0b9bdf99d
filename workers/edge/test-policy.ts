import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import type { JWK } from "jose";
import { openConfigStore } from "../../broker/config-store.ts";
import { createSigner, generateSigningKey, signEvent, signStoredResource } from "../../broker/envelope.ts";
import { createEventPublisher } from "../../broker/event-publisher.ts";
import type { MeshEvent, ResourceRef } from "../../broker/events.ts";
import { subjectFor } from "../../broker/subjects.ts";
import { validateResource } from "../../control/model/validate.ts";

/**
 * Test-only control plane for the edge worker tests in workerd: validates, signs and stores a
 * resource, then publishes its event over a WebSocket NATS connection, the way the real control
 * plane does. Also publishes forged events, to check the edge ignores them.
 *
 * @example
 * ```ts
 * await withTestPolicy(natsWsUrl, signingJwk, async (policy) => {
 *   await policy.apply({ apiVersion: "v1", kind: "Service", metadata: { name: "echo", namespace: ns }, spec });
 * });
 * ```
 */
export interface TestPolicy {
  /** Validates, signs, puts and announces one resource; resolves to its revision. */
  apply(doc: object): Promise<number>;
  /** Deletes a resource and announces it. */
  remove(ref: ResourceRef): Promise<number>;
  /** Publishes an event signed by a key the edge does not trust. */
  publishForged(event: MeshEvent): Promise<void>;
  /** Publishes an unsigned (plain JSON) event. */
  publishUnsigned(event: MeshEvent): Promise<void>;
}

export async function withTestPolicy<T>(
  natsWsUrl: string,
  signingJwk: string,
  body: (policy: TestPolicy) => Promise<T>,
): Promise<T> {
  // Per test: a connection opened in one test's request context cannot be used from another.
  const nc: NatsConnection = await wsconnect({ servers: natsWsUrl });
  try {
    const signer = await createSigner(JSON.parse(signingJwk) as JWK);
    const store = await openConfigStore(nc);
    const publisher = createEventPublisher(nc, signer);
    const policy: TestPolicy = {
      async apply(doc) {
        const validated = validateResource(doc);
        if (!validated.ok) throw new Error(`invalid test resource: ${JSON.stringify(validated.diagnostics)}`);
        const resource = validated.resource;
        const ref = {
          kind: resource.kind,
          namespace: resource.metadata.namespace,
          name: resource.metadata.name,
        };
        const revision = await store.put(ref, await signStoredResource(signer, resource, Date.now()));
        await publisher.publish({ type: "resource.applied", ref, revision, resource });
        return revision;
      },
      async remove(ref) {
        const revision = await store.delete(ref);
        await publisher.publish({ type: "resource.deleted", ref, revision });
        return revision;
      },
      async publishForged(event) {
        const forger = await createSigner((await generateSigningKey()).privateJwk);
        nc.publish(subjectFor(event), await signEvent(forger, event, Date.now()));
        await nc.flush();
      },
      async publishUnsigned(event) {
        nc.publish(
          subjectFor(event),
          JSON.stringify({ v: 1, id: crypto.randomUUID(), iat: Date.now(), event }),
        );
        await nc.flush();
      },
    };
    return await body(policy);
  } finally {
    await nc.close();
  }
}
