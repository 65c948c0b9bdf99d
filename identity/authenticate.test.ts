import { describe, expect, it } from "vitest";
import { createSigner, createVerifier, generateSigningKey } from "../broker/envelope.ts";
import { createAuthenticator } from "./authenticate.ts";
import { createJoinToken } from "./join-token.ts";

const grant = { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" };

describe("authenticating CSR credentials", () => {
  it("grants a join token's identity until it expires, even when its verification is cached", async () => {
    const { privateJwk, publicJwks } = await generateSigningKey();
    let now = 1_000_000;
    const auth = createAuthenticator({ joinTokens: await createVerifier(publicJwks), clock: () => now });
    const token = await createJoinToken(await createSigner(privateJwk), grant, { now, ttlMs: 60_000 });
    expect(await auth.authenticate({ type: "join-token", token })).toEqual({ ok: true, grant });
    now += 59_000;
    expect(await auth.authenticate({ type: "join-token", token })).toEqual({ ok: true, grant });
    now += 2_000;
    expect(await auth.authenticate({ type: "join-token", token })).toMatchObject({
      ok: false,
      code: "token-expired",
    });
  });

  it("maps a TokenReview'd service account to its identity, and refuses what TokenReview refuses", async () => {
    const reviewer = {
      review: async (token: string) =>
        token === "good"
          ? { authenticated: true, username: "system:serviceaccount:shop:cart" }
          : { authenticated: false, error: "token has expired" },
    };
    const auth = createAuthenticator({ kubernetes: { reviewer, trustDomain: "cluster.local" } });
    expect(await auth.authenticate({ type: "kubernetes", token: "good" })).toEqual({
      ok: true,
      grant: { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "cart" },
    });
    expect(await auth.authenticate({ type: "kubernetes", token: "bad" })).toMatchObject({
      ok: false,
      code: "token-invalid",
    });
    expect(await auth.authenticate({ type: "join-token", token: "x" })).toMatchObject({
      ok: false,
      code: "credential-unsupported",
    });
  });
});
