import { type Logger, silentLogger } from "../broker/logger.ts";
import { writeCaFiles } from "./ca-files.ts";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { type CertificateSummary, describeSecret } from "./describe-secret.ts";
import { IdentityError } from "./errors.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import type { IdentityService } from "./identity-service.ts";

/** A root of the trust bundle in `jibe ca status`. */
export interface CaRootStatus extends CertificateSummary {
  /** The signing intermediate chains to this root (the other is the one being rotated out). */
  signing: boolean;
}

/** What `GET /api/v1/ca` answers and `jibe ca status` prints. */
export interface CaStatus {
  trustDomain: string;
  source: "self-signed" | "plug-in";
  /** Where the CA files live (`$JIBE_HOME/ca` or the plug-in directory). */
  dir: string;
  /** `overlap`: a root rotation is under way and the bundle trusts the old and the new root. */
  phase: "steady" | "overlap";
  /** The intermediate that signs workload certificates. */
  signing: CertificateSummary;
  /** The trust bundle published on the bus, in order. */
  roots: CaRootStatus[];
}

/** Operator actions on the running mesh CA (the admin API's `/api/v1/ca` routes). */
export interface CaAdmin {
  status(): CaStatus;
  /**
   * Starts a root rotation: a new root + intermediate, persisted; the bundle trusts both
   * (published); after `settleMs` (for proxies to get it) the new intermediate signs.
   */
  rotate(opts?: { settleMs?: number }): Promise<CaStatus>;
  /** Ends the rotation: the bundle lists only the new root (persisted, published). */
  finish(): Promise<CaStatus>;
}

/** How long `rotate` waits between trusting the new root and signing with it, by default. */
export const DEFAULT_ROTATION_SETTLE_MS = 5_000;

/**
 * Node adapter: root rotation for operators, over a running {@link IdentityService}, in the steps of
 * `ca-rotation.ts`, each persisted under the CA's directory so a restart resumes where it was:
 *
 * 1. `rotate()`: generates a new root + intermediate; `root-cert.pem` lists old and new roots, the
 *    bundle with both is published; after `settleMs` the new intermediate (`ca-cert.pem`,
 *    `ca-key.pem`, `cert-chain.pem`, `root-key.pem` written) signs every new certificate.
 * 2. `finish()`: once every workload renewed (a certificate lifetime, 24 h by default), the bundle
 *    and `root-cert.pem` keep only the new root.
 *
 * A plug-in CA has no root key here and its files are the operator's: it is rotated in its own PKI
 * (both steps refused, code `rotation-refused`).
 *
 * @example
 * ```ts
 * const admin = createCaAdmin({ identity, log: console });
 * await admin.rotate();         // both roots trusted, new intermediate signs
 * await admin.finish();         // a day later: only the new root
 * admin.status().roots.length;  // 1
 * ```
 */
export function createCaAdmin(opts: {
  identity: IdentityService;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Called after each write to the CA directory, before the step goes on: where the CA must also be
   * kept elsewhere (a Kubernetes Secret when `$JIBE_HOME` is scratch space), save it there.
   */
  onCaFilesWritten?: (dir: string) => Promise<void>;
  log?: Logger;
}): CaAdmin {
  const { identity } = opts;
  const { rotation } = identity;
  const { dir, source } = identity.loaded;
  const clock = opts.clock ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log = opts.log ?? silentLogger;
  let busy = false;
  const write = async (files: Parameters<typeof writeCaFiles>[1]) => {
    await writeCaFiles(dir, files);
    await opts.onCaFilesWritten?.(dir);
  };

  const inOverlap = () => rotation.signingCa().roots.length > rotation.signingRoots().length;
  const status = (): CaStatus => {
    const ca = rotation.signingCa();
    const described = describeSecret({ certChainPem: ca.chainPem, rootsPem: ca.rootsPem }, clock());
    const signingSerials = new Set(rotation.signingRoots().map((root) => root.serialNumber));
    const signing = described.chain[0];
    if (!signing) throw new IdentityError("ca-invalid", "the signing CA has no certificate");
    return {
      trustDomain: ca.trustDomain,
      source,
      dir,
      phase: inOverlap() ? "overlap" : "steady",
      signing,
      roots: described.roots.map((root) => ({ ...root, signing: signingSerials.has(root.serial) })),
    };
  };
  const exclusive = async (step: () => Promise<void>): Promise<CaStatus> => {
    if (busy) throw refused("another CA rotation step is running; wait for it and retry");
    busy = true;
    try {
      await step();
      return status();
    } finally {
      busy = false;
    }
  };

  return {
    status,
    rotate: (rotateOpts = {}) =>
      exclusive(async () => {
        if (source === "plug-in")
          throw refused(
            `the CA is a plug-in CA (${dir}): Jibe holds no root key to make a new root. Rotate it in your PKI: add the new root to root-cert.pem, restart, then replace ca-cert.pem, ca-key.pem and cert-chain.pem`,
          );
        if (inOverlap())
          throw refused(
            "a root rotation is already under way (the bundle trusts two roots); finish it first with `jibe ca rotate --finish`",
          );
        const now = clock();
        const { trustDomain } = rotation.signingCa();
        const { material, rootKeyPem } = await generateCaMaterial({ trustDomain, now, crypto });
        const next = await loadCertificateAuthority(material, { trustDomain, now, crypto });
        const bundle = rotation.trust(next);
        await write({ rootCertPem: bundle.rootsPem });
        await identity.publishTrustBundle();
        log.info(
          `identity: root rotation: trusting the new root ${next.roots[0]?.serialNumber} besides the old`,
        );
        await sleep(rotateOpts.settleMs ?? DEFAULT_ROTATION_SETTLE_MS);
        // Persisted before it signs: a restart must never fall back to a CA whose root is gone.
        await write({ ...material, rootCertPem: bundle.rootsPem, rootKeyPem });
        rotation.signWith(next);
        log.info(
          `identity: root rotation: the new intermediate ${next.signingCert.serialNumber} signs; run \`jibe ca rotate --finish\` once every workload renewed`,
        );
      }),
    finish: () =>
      exclusive(async () => {
        if (source === "plug-in")
          throw refused(
            `the CA is a plug-in CA (${dir}): its files are yours; drop the old root from root-cert.pem and restart`,
          );
        if (!inOverlap()) throw refused("no root rotation is under way; start one with `jibe ca rotate`");
        const bundle = rotation.retire();
        await write({ rootCertPem: bundle.rootsPem });
        await identity.publishTrustBundle();
        log.info("identity: root rotation finished: the bundle trusts only the new root");
      }),
  };
}

function refused(message: string): IdentityError {
  return new IdentityError("rotation-refused", message, { user: true });
}
