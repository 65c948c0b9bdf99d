import { describe, expect, it } from "vitest";
import { readIdentityEnv } from "./identity-env.ts";

const files: Record<string, string> = { "/etc/jibe/join-token": "eyJ.token.sig\n", "/empty": "" };
const readFile = (path: string) => {
  const text = files[path];
  if (text === undefined) throw new Error("ENOENT: no such file");
  return text;
};

describe("readIdentityEnv (standalone sidecar identity)", () => {
  it("is off without a credential: the sidecar serves plaintext only", () => {
    expect(readIdentityEnv({ JIBE_NAMESPACE: "shop" }, readFile)).toBeUndefined();
  });

  it("reads a join token file, the SPIFFE ID parts and Istio's SECRET_TTL", () => {
    expect(
      readIdentityEnv(
        {
          JIBE_JOIN_TOKEN_FILE: "/etc/jibe/join-token",
          JIBE_NAMESPACE: "shop",
          SERVICE_ACCOUNT: "cart",
          SECRET_TTL: "48h",
        },
        readFile,
      ),
    ).toEqual({
      id: { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "cart" },
      credential: { type: "join-token", token: "eyJ.token.sig" },
      ttlSeconds: 172_800,
    });
  });

  it("takes a service-account token file for TokenReview, re-read at renewal (kept as a path)", () => {
    expect(
      readIdentityEnv(
        {
          JIBE_SERVICE_ACCOUNT_TOKEN_FILE: "/var/run/secrets/tokens/istio-token",
          JIBE_TRUST_DOMAIN: "example.org",
        },
        readFile,
      ),
    ).toMatchObject({
      id: { trustDomain: "example.org", namespace: "default", serviceAccount: "default" },
      credential: { type: "kubernetes", tokenFile: "/var/run/secrets/tokens/istio-token" },
    });
  });

  it("names the variable and the fix for bad settings", () => {
    expect(() => readIdentityEnv({ JIBE_JOIN_TOKEN_FILE: "/missing" }, readFile)).toThrow(
      /JIBE_JOIN_TOKEN_FILE=\/missing: ENOENT/,
    );
    expect(() => readIdentityEnv({ JIBE_JOIN_TOKEN_FILE: "/empty" }, readFile)).toThrow(/the file is empty/);
    expect(() => readIdentityEnv({ JIBE_JOIN_TOKEN: "t", SECRET_TTL: "2 days" }, readFile)).toThrow(
      /SECRET_TTL=2 days is not a duration.*24h/,
    );
    expect(() =>
      readIdentityEnv({ JIBE_JOIN_TOKEN: "t", JIBE_SERVICE_ACCOUNT_TOKEN_FILE: "/t" }, readFile),
    ).toThrow(/exclude each other/);
    expect(() => readIdentityEnv({ JIBE_JOIN_TOKEN: "t", JIBE_SERVICE_ACCOUNT: "a/b" }, readFile)).toThrow(
      /JIBE_SERVICE_ACCOUNT/,
    );
  });
});
