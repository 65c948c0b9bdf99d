import { calculateJwkThumbprint } from "jose";
import { describe, expect, it } from "vitest";
import { virtualService } from "../test/support/mesh-writer.ts";
import {
  createSigner,
  createVerifier,
  generateSigningKey,
  openEvent,
  openStoredResource,
  signEvent,
  signStoredResource,
} from "./envelope.ts";
import type { MeshEvent } from "./events.ts";

const resource = virtualService("reviews");
const ref = { kind: "VirtualService", namespace: "default", name: "reviews" };
const event: MeshEvent = { type: "resource.applied", ref, revision: 3, resource };
const now = 1_700_000_000_000;

async function keyPair() {
  const { privateJwk, publicJwks } = await generateSigningKey();
  return { signer: await createSigner(privateJwk), verifier: await createVerifier(publicJwks), privateJwk };
}

/** Base64url-encodes a JSON value, the way a forger would build JWS parts by hand. */
function part(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("envelope", () => {
  it("round-trips a signed event and a signed stored resource", async () => {
    const { signer, verifier } = await keyPair();
    const opened = await openEvent(verifier, await signEvent(signer, event, now));
    expect(opened).toMatchObject({ ok: true, event, iat: now, kid: signer.kid });
    const stored = await openStoredResource(verifier, await signStoredResource(signer, resource, now));
    expect(stored).toMatchObject({ ok: true, resource, iat: now, kid: signer.kid });
  });

  it("names keys by their JWK thumbprint and puts kid and typ in the protected header", async () => {
    const { signer, privateJwk } = await keyPair();
    const { kty, crv, x, y } = privateJwk;
    expect(signer.kid).toBe(await calculateJwkThumbprint({ kty, crv, x, y }));
    const [header] = (await signEvent(signer, event, now)).split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({
      alg: "ES256",
      kid: signer.kid,
      typ: "jibe+jws",
    });
  });

  it("gives every envelope a fresh id", async () => {
    const { signer, verifier } = await keyPair();
    const a = await openEvent(verifier, await signEvent(signer, event, now));
    const b = await openEvent(verifier, await signEvent(signer, event, now));
    expect(a.ok && b.ok && a.id !== b.id).toBe(true);
  });

  it("rejects an event whose payload was altered after signing", async () => {
    const { signer, verifier } = await keyPair();
    const [header, , signature] = (await signEvent(signer, event, now)).split(".");
    const forged = `${header}.${part({ v: 1, id: "x", iat: now, event: { ...event, revision: 99 } })}.${signature}`;
    expect(await openEvent(verifier, forged)).toMatchObject({ ok: false, reason: "bad-signature" });
  });

  it("rejects an event signed by a key it does not trust", async () => {
    const trusted = await keyPair();
    const stranger = await keyPair();
    const jws = await signEvent(stranger.signer, event, now);
    expect(await openEvent(trusted.verifier, jws)).toMatchObject({ ok: false, reason: "unknown-key" });
  });

  it("rejects a forger who reuses a trusted kid with their own key", async () => {
    const trusted = await keyPair();
    const { privateJwk } = await generateSigningKey();
    const impostor = await createSigner({ ...privateJwk, kid: trusted.signer.kid });
    const jws = await signEvent(impostor, event, now);
    expect(await openEvent(trusted.verifier, jws)).toMatchObject({ ok: false, reason: "bad-signature" });
  });

  it("rejects unsigned JSON and alg=none tokens as unsigned, garbage as malformed", async () => {
    const { verifier } = await keyPair();
    const payload = { v: 1, id: "x", iat: now, event };
    expect(await openEvent(verifier, JSON.stringify(payload))).toMatchObject({
      ok: false,
      reason: "unsigned",
    });
    const none = `${part({ alg: "none", typ: "jibe+jws" })}.${part(payload)}.`;
    expect(await openEvent(verifier, none)).toMatchObject({ ok: false, reason: "unsigned" });
    expect(await openEvent(verifier, "hello")).toMatchObject({ ok: false, reason: "malformed" });
    expect(await openEvent(verifier, "a.b.c")).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("rejects tokens with another algorithm or type", async () => {
    const { verifier, signer } = await keyPair();
    const hs = `${part({ alg: "HS256", kid: signer.kid, typ: "jibe+jws" })}.${part({})}.c2ln`;
    expect(await openEvent(verifier, hs)).toMatchObject({ ok: false, reason: "malformed" });
    const jwt = `${part({ alg: "ES256", kid: signer.kid, typ: "JWT" })}.${part({})}.c2ln`;
    expect(await openEvent(verifier, jwt)).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("rejects correctly signed payloads of the wrong shape as malformed", async () => {
    const { signer, verifier } = await keyPair();
    const cases: object[] = [
      { v: 2, id: "x", iat: now, event },
      { v: 1, iat: now, event },
      { v: 1, id: "x", iat: "yesterday", event },
      { v: 1, id: "x", iat: now, event: { ...event, type: "resource.renamed" } },
      { v: 1, id: "x", iat: now, event: { ...event, revision: 0 } },
      { v: 1, id: "x", iat: now, event: { ...event, ref: { kind: "VirtualService", name: "reviews" } } },
      { v: 1, id: "x", iat: now, event: { ...event, ref: { ...ref, name: "ratings" } } },
      { v: 1, id: "x", iat: now, event: { ...event, resource: { kind: "VirtualService", metadata: {} } } },
    ];
    for (const payload of cases) {
      const opened = await openEvent(verifier, await signer.sign(payload));
      expect(opened, JSON.stringify(payload)).toMatchObject({ ok: false, reason: "malformed" });
    }
    const resourceAsEvent = await openEvent(verifier, await signStoredResource(signer, resource, now));
    expect(resourceAsEvent).toMatchObject({ ok: false, reason: "malformed" });
    const eventAsResource = await openStoredResource(verifier, await signEvent(signer, event, now));
    expect(eventAsResource).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("accepts a deleted event without a resource", async () => {
    const { signer, verifier } = await keyPair();
    const deleted: MeshEvent = { type: "resource.deleted", ref, revision: 4 };
    expect(await openEvent(verifier, await signEvent(signer, deleted, now))).toMatchObject({
      ok: true,
      event: deleted,
    });
  });

  it("trusts every key of a JWKS, so keys can rotate", async () => {
    const old = await generateSigningKey();
    const next = await generateSigningKey();
    const verifier = await createVerifier({ keys: [...old.publicJwks.keys, ...next.publicJwks.keys] });
    for (const jwk of [old.privateJwk, next.privateJwk]) {
      const jws = await signEvent(await createSigner(jwk), event, now);
      expect((await openEvent(verifier, jws)).ok).toBe(true);
    }
  });

  it("refuses unusable keys with an error naming the problem", async () => {
    const { privateJwk, publicJwks } = await generateSigningKey();
    await expect(createSigner(publicJwks.keys[0]!)).rejects.toMatchObject({ code: "signing-key-invalid" });
    await expect(createVerifier({ keys: [{ kty: "oct", k: "c2VjcmV0" }] })).rejects.toMatchObject({
      code: "trust-jwks-invalid",
    });
    await expect(createVerifier({} as never)).rejects.toMatchObject({ code: "trust-jwks-invalid" });
    // A private JWK in a trust list is used for its public half only.
    const fromPrivate = await createVerifier({ keys: [privateJwk] });
    const jws = await signEvent(await createSigner(privateJwk), event, now);
    expect((await openEvent(fromPrivate, jws)).ok).toBe(true);
  });
});
