// The live inspector at <system prefix>/inspect: one static page (HTML, JS, CSS from src/inspect/, read once
// at start and served from memory) that reads /requests and /requests/stream and opens WebSockets itself.
// Every URL in the page is relative, so it works under --system-prefix and behind a gateway that strips a
// path prefix. With --admin-token the page needs the token like /requests does; a browser cannot send a
// header when following a link, so the page also takes it once as `?token=` (see withQueryToken).
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HookHandlerDoneFunction, onRequestHookHandler, onSendHookHandler } from 'fastify'
import { errorResponse } from '../schemas/error.ts'

export interface InspectRouteOptions {
  auth: onRequestHookHandler | undefined
  /** the --system-prefix the plugin is registered under (Fastify applies it to the routes) */
  prefix: string
}

/** Nothing but this origin's own files; no inline script or style; WebSockets to the console's target. */
export const INSPECT_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const PAGE_HEADERS = {
  'content-security-policy': INSPECT_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The page may be fetched with the token in its URL: no cache may keep it and hand it to someone else.
  'cache-control': 'private, no-store'
}

const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8'
}

/**
 * The page's files: every script module and stylesheet in its directory, each at its own fixed route, so
 * no other name (and no path out of the directory) reaches the disk; other paths stay echo paths.
 */
function assetNames (dir: URL): Array<[string, string]> {
  const names: Array<[string, string]> = []
  for (const name of readdirSync(dir).sort()) {
    const type = ASSET_TYPES[extname(name)]
    if (type !== undefined && /^[\w-]+\.\w+$/.test(name)) names.push([name, type])
  }
  return names
}

const INSPECT_ROUTE: FastifySchema = {
  tags: ['system'],
  operationId: 'getInspect',
  summary: 'Live inspector page',
  description: 'A web page showing requests as they arrive (from /requests and /requests/stream), each in detail with a copy-as-curl command, and a WebSocket console. ' +
    'With --admin-token, send `Authorization: Bearer <token>` or open it once as `inspect?token=<token>`: the page then sends the token as a Bearer header itself.',
  querystring: { type: 'object', properties: { token: { type: 'string', description: 'the admin token (--admin-token), for a browser that cannot send the header' } } },
  response: {
    200: { description: 'The page (its script and stylesheet are served beside it, under inspect/).', content: { 'text/html': { schema: { type: 'string' } } } },
    401: errorResponse('Missing or wrong admin token (--admin-token).')
  }
}

interface Asset { type: string, etag: string, identity: Buffer, br: Buffer, gzip: Buffer }

/**
 * Where the page's files are. Compiled code in a checkout (dist/src/routes) reads them from the source tree
 * beside it, so a plain `tsc` build never serves stale copies; an installed package or the container image
 * has no source tree and reads the copies `npm run build` puts in dist/src/inspect.
 */
function assetDir (): URL {
  const here = new URL('.', import.meta.url)
  const candidates = here.pathname.endsWith('/dist/src/routes/')
    ? [new URL('../../../src/inspect/', here), new URL('../inspect/', here)]
    : [new URL('../inspect/', here)]
  const found = candidates.find(dir => existsSync(new URL('inspect.html', dir)))
  if (found === undefined) throw new Error(`the inspector page is missing: no inspect.html in ${candidates.map(u => u.pathname).join(' or ')} (npm run build copies it)`)
  return found
}

/** Compressed once at start: the scripts are a few KB on the wire instead of some 30. */
function asset (body: Buffer, type: string): Asset {
  return {
    type,
    etag: createHash('sha256').update(body).digest('base64url').slice(0, 22),
    identity: body,
    br: brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }),
    gzip: gzipSync(body, { level: 9 })
  }
}

/** True when Accept-Encoding allows this coding (named, and not with q=0). */
export function accepts (header: string | undefined, coding: string): boolean {
  if (header === undefined) return false
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';')
    if (name.trim().toLowerCase() !== coding) continue
    const q = params.map(p => p.trim()).find(p => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  }
  return false
}

/**
 * The page for one of its two URLs. `assets` leads from the page to its files, `api` to the system paths
 * (/requests), `app` to the echo's root (the WebSocket console's paths are relative to it). Only dots and
 * slashes go in, so nothing here needs escaping.
 */
export function renderPage (template: string, depth: number, trailingSlash: boolean): string {
  const up = trailingSlash ? 1 : 0
  const api = up === 0 ? './' : '../'
  const app = depth + up === 0 ? './' : '../'.repeat(depth + up)
  return template
    .replaceAll('{{assets}}', trailingSlash ? './' : 'inspect/')
    .replaceAll('{{api}}', api)
    .replaceAll('{{app}}', app)
}

const TOKEN_PARAM = /([?&]token=)[^&#]*/g

/**
 * Lets a browser give the admin token as `?token=` when it sends no Authorization header: the token is
 * handed to the admin hook as the header it checks, and blotted out of the URL the request log writes.
 * Only the page takes it; /requests and its stream still need the header (the page sends it).
 */
function withQueryToken (auth: onRequestHookHandler): onRequestHookHandler {
  return function inspectAuth (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const token = (request.query as Record<string, unknown> | undefined)?.token
    if (typeof token === 'string' && request.headers.authorization === undefined) {
      request.raw.headers.authorization = `Bearer ${token}`
      request.raw.url = request.raw.url?.replace(TOKEN_PARAM, '$1[redacted]')
    }
    return auth.call(this, request, reply, done)
  }
}

/** A 401 from the admin hook tells a browser user how to give the token to this page. */
const explain401: onSendHookHandler = function (request, reply, payload, done) {
  if (reply.statusCode !== 401 || typeof payload !== 'string') {
    done(null, payload)
    return
  }
  try {
    const error = JSON.parse(payload)
    error.message = request.headers.authorization === undefined
      ? 'this page needs the admin token (--admin-token): open it as inspect?token=<admin token>, or send Authorization: Bearer <admin token>'
      : 'invalid admin token (--admin-token)'
    done(null, JSON.stringify(error))
  } catch {
    done(null, payload)
  }
}

export async function inspectRoutes (app: FastifyInstance, opts: InspectRouteOptions) {
  const dir = assetDir()
  const template = readFileSync(new URL('inspect.html', dir), 'utf8')
  const depth = opts.prefix === '' ? 0 : opts.prefix.split('/').length - 1
  const pages = {
    plain: Buffer.from(renderPage(template, depth, false)),
    slash: Buffer.from(renderPage(template, depth, true))
  }
  const assets = new Map(assetNames(dir).map(([name, type]) => [name, asset(readFileSync(new URL(name, dir)), type)]))

  const onRequest = opts.auth === undefined ? undefined : withQueryToken(opts.auth)
  const onSend = opts.auth === undefined ? undefined : explain401
  // `/inspect/` is the same page: its relative URLs are written for it.
  app.get('/inspect', { schema: INSPECT_ROUTE, onRequest, onSend }, async (_request, reply) =>
    reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(pages.plain))
  app.get('/inspect/', { schema: { hide: true }, onRequest, onSend }, async (_request, reply) =>
    reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(pages.slash))

  // The scripts and stylesheet are the same public files for every installation and hold no data, so they
  // are served without the token (a <script src> or a module's import could not send it anyway).
  for (const [name, a] of assets) {
    app.get(`/inspect/${name}`, { schema: { hide: true } }, async (request, reply) => {
      const accept = request.headers['accept-encoding']
      const coding = accepts(accept, 'br') ? 'br' : accepts(accept, 'gzip') ? 'gzip' : 'identity'
      // One tag per representation, as each coding's bytes differ.
      const etag = `"${a.etag}-${coding}"`
      reply.header('etag', etag).header('vary', 'accept-encoding').header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff')
      if (request.headers['if-none-match'] === etag) return reply.code(304).send()
      if (coding !== 'identity') reply.header('content-encoding', coding)
      return reply.type(a.type).send(a[coding])
    })
  }
}
