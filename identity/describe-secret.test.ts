import { describe, expect, it } from "vitest";
import { createSigner, createVerifier, generateSigningKey } from "../broker/envelope.ts";
import { createAuthenticator } from "./authenticate.ts";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import { describeSecret } from "./describe-secret.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import { createCertificateIssuer } from "./issuer.ts";
import { createJoinToken } from "./join-token.ts";

describe("describeSecret (jibe proxy-config secret)", () => {
  it("lists the workload certificate, the intermediate and the root with serials and validity", async () => {
    const now = Date.now();
    const { material } = await generateCaMaterial({ trustDomain: "cluster.local", now, crypto });
    const ca = await loadCertificateAuthority(material, { trustDomain: "cluster.local", now, crypto });
    const { privateJwk, publicJwks } = await generateSigningKey();
    const signer = await createSigner(privateJwk);
    const issuer = createCertificateIssuer({
      ca,
      crypto,
      authenticator: createAuthenticator({ joinTokens: await createVerifier(publicJwks) }),
    });
    const token = await createJoinToken(
      signer,
      { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "cart" },
      { now },
    );
    const { csrPem } = await createWorkloadCsr({
      spiffeId: "spiffe://cluster.local/ns/shop/sa/cart",
      crypto,
    });
    const reply = await issuer.issue({ v: 1, csr: csrPem, credential: { type: "join-token", token } });
    if (!reply.ok) throw new Error(reply.message);

    const secret = describeSecret(reply, now);
    expect(secret.spiffeId).toBe("spiffe://cluster.local/ns/shop/sa/cart");
    expect(secret.chain.map((c) => c.role)).toEqual(["workload", "intermediate"]);
    expect(secret.chain[0]).toMatchObject({ serial: reply.serial, notAfter: reply.notAfter, state: "valid" });
    expect(secret.roots).toHaveLength(1);
    expect(secret.roots[0]!.subject).toBe("O=cluster.local, CN=Jibe Root CA");
    expect(describeSecret(reply, now + 2 * 86_400_000).chain[0]!.state).toBe("expired");
  });
});
