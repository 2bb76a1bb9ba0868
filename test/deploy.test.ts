// The deployment files parse and point at what the server really uses: its port, probe paths, the
// downward-API variables it reads, and the options it accepts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseAllDocuments, parse } from 'yaml'
import { loadOptions } from '../src/config/options.ts'
import { spawnServer } from './helper.ts'

const file = (p: string) => readFileSync(new URL(`../../deploy/${p}`, import.meta.url), 'utf8')

function docs (p: string): any[] {
  const all = parseAllDocuments(file(p))
  for (const d of all) assert.deepEqual(d.errors, [], `${p} parses`)
  return all.map(d => d.toJS())
}

test('Kubernetes manifests: Deployment, Service, HPA, PDB that fit the server', async (t) => {
  const [deployment, service, hpa, pdb] = docs('kubernetes/echoscope.yaml')
  assert.equal(deployment.kind, 'Deployment')
  assert.equal(service.kind, 'Service')
  assert.equal(hpa.kind, 'HorizontalPodAutoscaler')
  assert.equal(pdb.kind, 'PodDisruptionBudget')

  const pod = deployment.spec.template.spec
  const c = pod.containers[0]
  const labels = deployment.spec.template.metadata.labels
  assert.deepEqual(deployment.spec.selector.matchLabels, labels)
  assert.deepEqual(service.spec.selector, labels)
  assert.deepEqual(pdb.spec.selector.matchLabels, labels)
  assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name)

  // Ports: the container port is the one the server listens on with this env.
  const env: Record<string, string> = {}
  const fieldRefs: Record<string, string> = {}
  for (const e of c.env) {
    if (e.value !== undefined) env[e.name] = e.value
    else fieldRefs[e.name] = e.valueFrom.fieldRef.fieldPath
  }
  const opts = loadOptions([], env) // every ECHOSCOPE_* value in the manifest is valid
  assert.equal(c.ports[0].containerPort, opts.port)
  assert.equal(service.spec.ports[0].targetPort, c.ports[0].name)
  assert.equal(opts.host, '0.0.0.0')
  assert.deepEqual(fieldRefs, { POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', NODE_NAME: 'spec.nodeName' })
  assert.ok(pod.terminationGracePeriodSeconds * 1000 > opts.shutdownDelay + opts.shutdownTimeout)

  // Security: non-root, read-only root filesystem, no privilege escalation, all capabilities dropped.
  assert.equal(pod.securityContext.runAsNonRoot, true)
  assert.equal(c.securityContext.readOnlyRootFilesystem, true)
  assert.equal(c.securityContext.allowPrivilegeEscalation, false)
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'])
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory)

  // Probes hit paths that answer 200 on a server started with the manifest's env (loopback, free port).
  const run = { ...env, HOST: '127.0.0.1', PORT: '0', ECHOSCOPE_REDIS_URL: '' }
  const { child, port } = await spawnServer([], { ...run, POD_NAME: 'echoscope-abc', POD_NAMESPACE: 'default', NODE_NAME: 'n1' })
  t.after(() => child.kill('SIGKILL'))
  for (const probe of [c.livenessProbe, c.readinessProbe]) {
    assert.equal(probe.httpGet.port, 'http')
    const res = await fetch(`http://127.0.0.1:${port}${probe.httpGet.path}`)
    assert.equal(res.status, 200, probe.httpGet.path)
  }
  const echo = await (await fetch(`http://127.0.0.1:${port}/`)).json() as { server: Record<string, string> }
  assert.equal(echo.server.pod, 'echoscope-abc')
  assert.equal(echo.server.namespace, 'default')
  assert.equal(echo.server.node, 'n1')
})

test('the optional Redis manifest offers the service the Deployment points at', () => {
  const [deployment] = docs('kubernetes/echoscope.yaml')
  const [, redisService] = docs('kubernetes/redis.yaml')
  const url = deployment.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'ECHOSCOPE_REDIS_URL').value
  assert.equal(url, `redis://${redisService.metadata.name}:${redisService.spec.ports[0].port}/0`)
})

test('docker-compose: nginx in front of two replicas and Redis, wired to the right ports', () => {
  const compose = parse(file('compose/docker-compose.yml'))
  const replicas = Object.keys(compose.services).filter(s => compose.services[s].build !== undefined)
  assert.equal(replicas.length, 2)
  for (const r of replicas) {
    const env = compose.services[r].environment
    assert.equal(loadOptions([], env).redisUrl, 'redis://redis:6379/0')
    assert.equal(compose.services[r].read_only, true)
  }
  assert.ok(compose.services.redis)
  const conf = file('compose/nginx.conf')
  for (const r of replicas) assert.match(conf, new RegExp(`server ${r}:8080;`))
  assert.match(conf, /proxy_set_header Upgrade \$http_upgrade;/)
})
