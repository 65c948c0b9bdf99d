import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSigner,
  createVerifier,
  generateSigningKey,
  type Signer,
  type Verifier,
} from "../broker/envelope.ts";
import { connectNats } from "../broker/nats-connection.ts";
import { useTestNats } from "../test/support/nats.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import type { TrustBundle } from "./trust-bundle.ts";
import { publishTrustBundle, watchTrustBundle } from "./trust-bundle-store.ts";

const server = useTestNats();
let nc: NatsConnection;
let signer: Signer;
let verifier: Verifier;

async function rootsPem(): Promise<string> {
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain: "cluster.local", now, crypto });
  return (await loadCertificateAuthority(material, { trustDomain: "cluster.local", now, crypto })).rootsPem;
}

beforeAll(async () => {
  nc = await connectNats(server().url);
  const { privateJwk, publicJwks } = await generateSigningKey();
  signer = await createSigner(privateJwk);
  verifier = await createVerifier(publicJwks);
});
afterAll(() => nc?.close());

describe("trust bundle on the bus", () => {
  it("reaches watchers at start and on every change (root rotation overlap), unsigned changes are dropped", async () => {
    const oldRoot = await rootsPem();
    await publishTrustBundle(nc, signer, { trustDomain: "cluster.local", rootsPem: oldRoot });
    const seen: TrustBundle[] = [];
    const watch = await watchTrustBundle(nc, verifier, { onBundle: (bundle) => seen.push(bundle) });
    await waitFor(() => seen.length === 1, { what: "initial bundle" });
    expect(seen[0]!.rootsPem).toBe(oldRoot);

    const overlap = `${oldRoot}${await rootsPem()}`;
    await publishTrustBundle(nc, signer, { trustDomain: "cluster.local", rootsPem: overlap });
    await waitFor(() => seen.length === 2, { what: "rotated bundle" });
    expect(watch.current?.rootsPem).toBe(overlap);

    const intruder = await createSigner((await generateSigningKey()).privateJwk);
    await publishTrustBundle(nc, intruder, { trustDomain: "cluster.local", rootsPem: await rootsPem() });
    await waitFor(() => watch.rejected === 1, { what: "forged bundle dropped" });
    expect(watch.current?.rootsPem).toBe(overlap); // last good bundle stays
    expect(seen).toHaveLength(2);
    watch.stop();
  });
});
