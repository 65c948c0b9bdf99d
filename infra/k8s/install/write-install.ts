/**
 * Writes everything generated from `infra/k8s/install/*.ts`: the plain manifests
 * (`infra/k8s/manifests/<profile>.yaml`), the Helm chart (`infra/helm/jibe`) and the adapter's RBAC
 * (`infra/k8s/adapter-rbac.yaml`). Run after a change: `node infra/k8s/install/write-install.ts`.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { renderAdapterRbac, renderHelmChart, renderManifest } from "./render.ts";
import { PROFILE_NAMES } from "./values.ts";

const root = new URL("../../", import.meta.url);
const write = (path: string, text: string) => {
  const url = new URL(path, root);
  mkdirSync(dirname(url.pathname), { recursive: true });
  writeFileSync(url, text);
};

rmSync(new URL("helm/jibe/", root), { recursive: true, force: true });
for (const [file, text] of renderHelmChart()) write(`helm/jibe/${file}`, text);
mkdirSync(new URL("k8s/manifests/", root), { recursive: true });
for (const old of readdirSync(new URL("k8s/manifests/", root))) rmSync(new URL(`k8s/manifests/${old}`, root));
for (const profile of PROFILE_NAMES) write(`k8s/manifests/${profile}.yaml`, renderManifest(profile));
write("k8s/adapter-rbac.yaml", renderAdapterRbac());
console.log("wrote infra/k8s/manifests, infra/helm/jibe and infra/k8s/adapter-rbac.yaml");
