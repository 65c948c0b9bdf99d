/**
 * Writes the CRD manifests of `istio-crds.ts` into this folder (and removes stale ones).
 * Run after changing a schema: `node infra/k8s/crds/write-crds.ts`.
 */
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { renderCrdFiles } from "./istio-crds.ts";

const dir = new URL("./", import.meta.url);
const files = renderCrdFiles();
for (const old of readdirSync(dir).filter((f) => f.endsWith(".yaml") && !files.has(f)))
  rmSync(new URL(old, dir));
for (const [name, text] of files) writeFileSync(new URL(name, dir), text);
console.log(`wrote ${files.size} CRDs to ${dir.pathname}`);
