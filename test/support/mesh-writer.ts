import type { NatsConnection } from "@nats-io/nats-core";
import { type ConfigStore, openConfigStore } from "../../broker/config-store.ts";
import { type Signer, signStoredResource } from "../../broker/envelope.ts";
import { createEventPublisher, type EventPublisher } from "../../broker/event-publisher.ts";
import type { ResourceRef, StoredResource } from "../../broker/events.ts";
import { validateResource } from "../../control/model/validate.ts";

/**
 * What the control plane does to the bus, without the control plane: store the signed resource
 * (getting its revision), then publish the signed event carrying that revision. For tests that need a
 * realistic writer against a real nats-server: broker tests, the sidecar's test mesh, and the edge
 * worker's tests (no `node:*` imports, so it runs in workerd too).
 *
 * @example
 * ```ts
 * const writer = await createMeshWriter(nc, signer, { bucket: "t-sync" });
 * const revision = await writer.apply(virtualService("reviews"));
 * await writer.remove({ kind: "VirtualService", namespace: "default", name: "reviews" });
 * ```
 */
export interface MeshWriter {
  store: ConfigStore;
  publisher: EventPublisher;
  apply(resource: StoredResource): Promise<number>;
  remove(ref: ResourceRef): Promise<number>;
}

export async function createMeshWriter(
  nc: NatsConnection,
  signer: Signer,
  opts: { bucket?: string; clock?: () => number } = {},
): Promise<MeshWriter> {
  const clock = opts.clock ?? Date.now;
  const store = await openConfigStore(nc, opts.bucket ? { bucket: opts.bucket } : {});
  const publisher = createEventPublisher(nc, signer, clock);
  return {
    store,
    publisher,
    async apply(resource) {
      const ref = {
        kind: resource.kind,
        namespace: resource.metadata.namespace,
        name: resource.metadata.name,
      };
      const revision = await store.put(ref, await signStoredResource(signer, resource, clock()));
      await publisher.publish({ type: "resource.applied", ref, revision, resource });
      return revision;
    },
    async remove(ref) {
      const revision = await store.delete(ref);
      await publisher.publish({ type: "resource.deleted", ref, revision });
      return revision;
    },
  };
}

/**
 * Validates a test document as the control plane would and returns the resource to write; throws
 * naming every field error (a test resource must be valid).
 *
 * @example
 * ```ts
 * await writer.apply(validTestResource({ apiVersion: "v1", kind: "Service", metadata: { name: "echo" }, spec }));
 * ```
 */
export function validTestResource(document: object, index = 0): StoredResource {
  const result = validateResource(document, { index });
  if (!result.ok) {
    throw new Error(
      `test resource ${index} is invalid: ${result.diagnostics.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
    );
  }
  return result.resource;
}

/** A minimal VirtualService, for tests that need some resource. */
export function virtualService(name: string, namespace = "default", host = name): StoredResource {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name, namespace },
    spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
  };
}
