import { wsconnect } from "@nats-io/nats-core";
import { describe, expect, inject, it } from "vitest";
import { createSigner, createVerifier, openEvent, signEvent } from "../../broker/envelope.ts";
import { connectNats } from "../../broker/nats-connection.ts";

describe("global nats setup", () => {
  it("provides a reachable server (TCP and WebSocket) and a matching test key pair", async () => {
    const nc = await connectNats(inject("natsUrl"));
    await nc.flush();
    await nc.close();
    if (inject("natsWsUrl")) {
      const ws = await wsconnect({ servers: inject("natsWsUrl") });
      await ws.flush();
      await ws.close();
    }
    const signer = await createSigner(JSON.parse(inject("testSigningJwk")));
    const verifier = await createVerifier(JSON.parse(inject("testTrustJwks")));
    const event = {
      type: "resource.deleted" as const,
      ref: { kind: "Service", namespace: "default", name: "x" },
      revision: 1,
    };
    expect(await openEvent(verifier, await signEvent(signer, event, Date.now()))).toMatchObject({
      ok: true,
      event,
    });
  });
});
