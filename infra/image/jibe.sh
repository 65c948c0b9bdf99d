#!/bin/sh
# The image's entry point, also `jibe` on PATH. The injected proxy container runs `jibe proxy sidecar`
# (its args) and, as a regular container, `jibe proxy wait` from its postStart hook (control/injector/
# sidecar-containers.ts); everything else is the jibe CLI. The control-plane Deployment runs
# `node control/plane/main.ts` itself (infra/k8s/install/install-objects.ts).
set -eu
APP="${JIBE_APP_DIR:-/app}"
case "${1:-} ${2:-}" in
"proxy sidecar")
  shift 2
  exec node "$APP/workers/sidecar/main.ts" "$@"
  ;;
"proxy wait")
  shift 2
  exec node "$APP/infra/image/proxy-wait.ts" "$@"
  ;;
esac
exec node "$APP/control/cli/bin.ts" "$@"
