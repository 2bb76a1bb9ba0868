// Debian's haproxy in front of echoscope for a test: in the foreground (-db), as the current user, on a
// free loopback port, with its config in a temporary directory.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { startGateway, type Gateway } from './gateway.ts'

export const HAPROXY = '/usr/sbin/haproxy'

/**
 * Starts haproxy with the config `cfg(port)`, which must bind 127.0.0.1:port. Stopped (SIGTERM, then
 * SIGKILL) after the test.
 */
export function startHaproxy (t: TestContext, cfg: (port: number) => string): Promise<Gateway> {
  return startGateway(t, {
    pkg: 'haproxy',
    binary: HAPROXY,
    prepare: (port, dir) => writeFileSync(join(dir, 'haproxy.cfg'), cfg(port)),
    args: (_port, dir) => ['-f', join(dir, 'haproxy.cfg'), '-db']
  })
}

/** The haproxy recipe of docs/recipes.md, word for word: `bind` and `upstream` are all that differ in the tests. */
export function haproxyRecipe (bind: string, upstream: string): string {
  return `# echoscope listens on ${upstream}; clients call http://<gateway>/api/...
global
  maxconn 1024

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h                          # idle WebSocket connections

frontend gateway
  bind ${bind}
  option forwardfor                          # adds an X-Forwarded-For line with the client address
  default_backend echoscope

backend echoscope
  http-request replace-path ^/api/(.*) /\\1   # strips the /api prefix, keeps the query
  http-request set-header Host echo.internal
  http-request del-header X-Debug
  http-request set-header X-Gateway haproxy
  http-request add-header Via "1.1 haproxy"  # haproxy sends no Via; this lets echoscope name it
  server echo ${upstream}
`
}
