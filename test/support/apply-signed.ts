import type { Signer } from "../../broker/envelope.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { createMeshWriter, validTestResource } from "./mesh-writer.ts";

/**
 * Validates, signs, stores and announces documents over a fresh connection to `natsUrl`, as the
 * control plane does (Node tests that run no control plane, e.g. the edge worker's).
 *
 * @example
 * ```ts
 * await applySigned(nats.url, signer, ...loopbackService("web", port));
 * ```
 */
export async function applySigned(natsUrl: string, signer: Signer, ...documents: object[]): Promise<void> {
  const nc = await connectNats(natsUrl);
  try {
    const writer = await createMeshWriter(nc, signer);
    for (const document of documents) await writer.apply(validTestResource(document));
  } finally {
    await nc.close();
  }
}

/** Service `name` (port 80, `http`) in `default` with one WorkloadEntry: a server on 127.0.0.1:`port`. */
export function loopbackService(name: string, port: number): object[] {
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "default" },
      spec: { selector: { app: name }, ports: [{ name: "http", port: 80 }] },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: `${name}-1`, namespace: "default" },
      spec: { address: "127.0.0.1", ports: { http: port }, labels: { app: name } },
    },
  ];
}
