/**
 * PEM helpers (pure). `splitPem` accepts any text holding several blocks, as certificate chain and
 * bundle files do.
 *
 * @example
 * ```ts
 * const pem = toPem("CERTIFICATE", der);
 * splitPem(chainText).map((block) => block.der);
 * ```
 */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order. */
export function splitPem(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => ({
    label: match[1] ?? "",
    der: base64ToBytes((match[2] ?? "").replace(/\s+/g, "")),
  }));
}

/** A PEM block with 64-character lines and a trailing newline. */
export function toPem(label: string, der: Uint8Array | ArrayBuffer): string {
  const base64 = bytesToBase64(der instanceof Uint8Array ? der : new Uint8Array(der));
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
