import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import type { JWK } from "jose";
import { createSigner, generateSigningKey, signEvent } from "../../broker/envelope.ts";
import type { MeshEvent, ResourceRef } from "../../broker/events.ts";
import { subjectFor } from "../../broker/subjects.ts";
import { createMeshWriter, validTestResource } from "../../test/support/mesh-writer.ts";

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
    const writer = await createMeshWriter(nc, signer);
    const policy: TestPolicy = {
      apply: (doc) => writer.apply(validTestResource(doc)),
      remove: (ref) => writer.remove(ref),
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
