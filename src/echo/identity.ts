// Which replica answered: read once at startup, never per request.
import { hostname } from 'node:os'
import { readFileSync } from 'node:fs'
import type { ServerIdentity } from './types.ts'

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version

/**
 * The header every response of echoscope's carries, naming the instance: a response without it was made by
 * something in front (a gateway's own 404, 413, 502 or 504), which is how `diff`, `test` and `probe` tell.
 */
export const MARKER_HEADER = 'x-echoscope'

/** The instance name as a header value: as it is when it is visible ASCII, else percent-encoded. */
export function markerValue (instance: string): string {
  return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(instance) ? instance : encodeURIComponent(instance)
}

/** Context fields of the Kubernetes Gateway API conformance echo server, from the same env vars it reads. */
export interface GatewayContext { namespace: string, ingress: string, service: string, pod: string }

/**
 * The Kubernetes downward API exposes these when a manifest maps them (see deploy/): POD_NAME,
 * POD_NAMESPACE, NODE_NAME. NAMESPACE is what the Gateway API echo server reads, so it is accepted too.
 */
export function serverIdentity (instance: string, echoEnv: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): ServerIdentity {
  const host = hostname()
  const id: ServerIdentity = { hostname: host, instance: instance !== '' ? instance : host, version: VERSION }
  // --echo-env: only the variables named there, read once; one that is not set is left out.
  if (echoEnv.length > 0) {
    const shown: Record<string, string> = {}
    for (const name of echoEnv) {
      const value = env[name]
      if (value !== undefined) shown[name] = value
    }
    id.env = shown
  }
  const pod = env.POD_NAME
  const namespace = env.POD_NAMESPACE ?? env.NAMESPACE
  const node = env.NODE_NAME
  if (pod) id.pod = pod
  if (namespace) id.namespace = namespace
  if (node) id.node = node
  return id
}

export function gatewayContext (identity: ServerIdentity, env: NodeJS.ProcessEnv = process.env): GatewayContext {
  return {
    namespace: identity.namespace ?? '',
    ingress: env.INGRESS_NAME ?? '',
    service: env.SERVICE_NAME ?? '',
    pod: identity.pod ?? identity.hostname
  }
}
