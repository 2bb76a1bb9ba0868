// Debian's nginx in front of echoscope for a test: one process, running as the current user, on a free
// loopback port, with every path it writes to inside a temporary directory.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { startGateway, type Gateway } from './gateway.ts'

export const NGINX = '/usr/sbin/nginx'

/**
 * Starts nginx with `http(port)` as the body of its `http {}` block; that text must hold a server that
 * listens on 127.0.0.1:port. Stopped (SIGTERM, then SIGKILL) after the test.
 */
export function startNginx (t: TestContext, http: (port: number) => string): Promise<Gateway> {
  return startGateway(t, {
    pkg: 'nginx',
    binary: NGINX,
    prepare: (port, dir) => writeFileSync(join(dir, 'nginx.conf'), wrap(http(port), dir)),
    // master_process off: no workers, so nothing switches to the `nobody` user when the tests run as root.
    args: (_port, dir) => ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf'),
      '-g', `daemon off; master_process off; pid ${join(dir, 'nginx.pid')}; error_log stderr;`]
  })
}

function wrap (http: string, dir: string): string {
  return `events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};

${http}
}
`
}

/** The nginx recipe of docs/recipes.md, word for word: `listen` and `upstream` are all that differ in the tests. */
export function nginxRecipe (listen: string, upstream: string, extra = ''): string {
  return `# echoscope listens on ${upstream}; clients call http://<gateway>/api/...
map $http_upgrade $connection_upgrade {
  default upgrade;
  ''      close;
}

server {
  listen ${listen};

  location /api/ {
    ${`proxy_pass http://${upstream}/;`.padEnd(44)} # the trailing / strips the /api prefix
    proxy_http_version 1.1;                      # nginx talks HTTP/1.0 upstream otherwise
    proxy_set_header Host echo.internal;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Gateway nginx;            # a header added
    proxy_set_header X-Debug "";                 # an empty value drops the header
    proxy_set_header Via "1.1 nginx";            # nginx sends no Via; this lets echoscope name it
    proxy_set_header Upgrade $http_upgrade;      # WebSocket
    proxy_set_header Connection $connection_upgrade;
  }
${extra}}
`
}
