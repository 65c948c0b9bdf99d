import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigner, generateSigningKey } from "../broker/envelope.ts";
import { connectNats } from "../broker/nats-connection.ts";
import { type ApiServerDouble, startApiServerDouble } from "../test/k8s-apiserver/api-server.ts";
import { useTestNats } from "../test/support/nats.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import type { CsrReply } from "./csr-wire.ts";
import { type IdentityService, startIdentityService } from "./identity-service.ts";
import { requestCertificate } from "./request-certificate.ts";
import { createTokenReviewer } from "./token-review-client.ts";

/**
 * CSRs authenticated with Kubernetes service-account tokens: the CA (over the bus) asks the API
 * server's TokenReview (the double in test/k8s-apiserver, through @kubernetes/client-node) who the
 * token belongs to and signs only the SPIFFE ID of that namespace and service account.
 */

const server = useTestNats();
let api: ApiServerDouble;
let home: string;
let nc: NatsConnection;
let identity: IdentityService;

function kubeConfig(token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "double", server: api.url, skipTLSVerify: true }],
    users: [{ name: "jibe-ca", token }],
    contexts: [{ name: "double", cluster: "double", user: "jibe-ca" }],
    currentContext: "double",
  });
  return kc;
}

async function ask(spiffeId: string, token: string): Promise<CsrReply> {
  const { csrPem } = await createWorkloadCsr({ spiffeId, crypto });
  return requestCertificate(nc, { v: 1, csr: csrPem, credential: { type: "kubernetes", token } });
}

beforeAll(async () => {
  api = await startApiServerDouble({ token: "ca-sa-token" });
  api.tokens.registerServiceAccountToken("reviews-token", "default", "reviews", ["istio-ca"]);
  api.tokens.registerServiceAccountToken("other-audience-token", "default", "reviews", ["vault"]);
  api.tokens.register("admin-token", { username: "kubernetes-admin", groups: ["system:masters"] });
  home = await mkdtemp(join(tmpdir(), "jibe-token-review-"));
  nc = await connectNats(server().url);
  const { privateJwk, publicJwks } = await generateSigningKey();
  identity = await startIdentityService({
    nc,
    home,
    signer: await createSigner(privateJwk),
    trustJwks: publicJwks,
    tokenReviewer: createTokenReviewer(kubeConfig("ca-sa-token"), { audiences: ["istio-ca"] }),
  });
});

afterAll(async () => {
  await identity?.stop();
  await nc?.close();
  await api?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("CSR authentication with Kubernetes TokenReview", () => {
  it("issues the SPIFFE ID of the token's service account", async () => {
    const reply = await ask("spiffe://cluster.local/ns/default/sa/reviews", "reviews-token");
    expect(reply).toMatchObject({ ok: true, spiffeId: "spiffe://cluster.local/ns/default/sa/reviews" });
  });

  it("refuses a CSR for another service account or namespace than the token's", async () => {
    expect(await ask("spiffe://cluster.local/ns/default/sa/ratings", "reviews-token")).toMatchObject({
      ok: false,
      code: "identity-not-granted",
    });
    expect(await ask("spiffe://cluster.local/ns/prod/sa/reviews", "reviews-token")).toMatchObject({
      ok: false,
      code: "identity-not-granted",
    });
  });

  it("refuses tokens TokenReview does not authenticate: unknown, revoked, wrong audience, not a service account", async () => {
    const id = "spiffe://cluster.local/ns/default/sa/reviews";
    const unknown = await ask(id, "forged.jwt.token");
    expect(unknown).toMatchObject({ ok: false, code: "token-invalid" });
    if (!unknown.ok) expect(unknown.message).toContain("invalid bearer token");
    expect(await ask(id, "other-audience-token")).toMatchObject({ ok: false, code: "token-invalid" });
    expect(await ask(id, "admin-token")).toMatchObject({ ok: false, code: "token-invalid" });
    api.tokens.revoke("reviews-token");
    expect(await ask(id, "reviews-token")).toMatchObject({ ok: false, code: "token-invalid" });
    api.tokens.registerServiceAccountToken("reviews-token", "default", "reviews", ["istio-ca"]);
  });

  it("refuses every Kubernetes token when the CA's own TokenReview call is not authorized", async () => {
    const reviewer = createTokenReviewer(kubeConfig("wrong-ca-token"));
    const review = await reviewer.review("reviews-token");
    expect(review.authenticated).toBe(false);
    expect(review.error).toContain("TokenReview call failed");
  });
});
