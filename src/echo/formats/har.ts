// ?format=har — the request as a HAR 1.2 `request` object
// (http://www.softwareishard.com/blog/har-12-spec/#request), to import into a HAR viewer or replay tool.
import { isUtf8 } from 'node:buffer'
import type { Echo } from '../types.ts'
import { requestHead } from './text.ts'

export interface HarNameValue {
  name: string
  value: string
}

export interface HarParam {
  name: string
  value?: string
  fileName?: string
  contentType?: string
}

export interface HarPostData {
  mimeType: string
  /** the body as UTF-8 text, or its base64 when `encoding` is `"base64"` */
  text: string
  /** not in HAR 1.2 for requests (only for response content); the common extension for binary bodies */
  encoding?: 'base64'
  params?: HarParam[]
}

export interface HarRequest {
  method: string
  url: string
  httpVersion: string
  cookies: HarNameValue[]
  headers: HarNameValue[]
  queryString: HarNameValue[]
  postData?: HarPostData
  /** bytes of the request line and headers up to the blank line (HTTP/1.x); -1 for HTTP/2 (HPACK) */
  headersSize: number
  bodySize: number
}

function firstHeader (echo: Echo, name: string): string | undefined {
  const v = echo.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** HAR wants an absolute URL; the target is usually origin-form, so rebuild it from what arrived here. */
function absoluteUrl (echo: Echo): string {
  const url = echo.url
  if (url.charCodeAt(0) !== 47 /* / */) {
    if (url.includes('://')) return url // absolute-form, as sent to a proxy
    if (echo.method === 'CONNECT') return echo.protocol + '://' + url // authority-form
  }
  const host = firstHeader(echo, 'host') ?? firstHeader(echo, ':authority') ?? echo.server.hostname
  return echo.protocol + '://' + host + (url.charCodeAt(0) === 47 ? url : '/' + url)
}

function queryString (url: string): HarNameValue[] {
  const q = url.indexOf('?')
  if (q === -1) return []
  const hash = url.indexOf('#', q)
  const out: HarNameValue[] = []
  for (const [name, value] of new URLSearchParams(url.slice(q + 1, hash === -1 ? undefined : hash))) {
    out.push({ name, value })
  }
  return out
}

/**
 * Cookies straight from the Cookie header lines: every pair in order, repeated names kept (a browser sends
 * one per matching path), values not percent-decoded — what a browser's own HAR export shows.
 */
function cookies (echo: Echo): HarNameValue[] {
  if (echo.headers.cookie === undefined) return []
  const out: HarNameValue[] = []
  for (const [name, value] of echo.rawHeaders) {
    if (name.length !== 6 || name.toLowerCase() !== 'cookie') continue
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=')
      if (eq === -1) continue
      const cookieName = pair.slice(0, eq).trim()
      if (cookieName !== '') out.push({ name: cookieName, value: pair.slice(eq + 1).trim() })
    }
  }
  return out
}

interface MultipartBodyShape {
  fields?: Record<string, string | string[]>
  files?: { field: string, filename: string, type: string }[]
}

function multipartParams (body: unknown): HarParam[] | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const { fields, files } = body as MultipartBodyShape
  const out: HarParam[] = []
  if (fields !== null && typeof fields === 'object') {
    for (const name of Object.keys(fields)) {
      const v = fields[name]
      if (Array.isArray(v)) for (const value of v) out.push({ name, value })
      else out.push({ name, value: String(v) })
    }
  }
  if (Array.isArray(files)) {
    for (const f of files) out.push({ name: f.field, fileName: f.filename, contentType: f.type })
  }
  return out.length === 0 ? undefined : out
}

function postData (echo: Echo, rawBody: Buffer): HarPostData {
  // RFC 9110 §8.3: a recipient may treat a body without Content-Type as application/octet-stream
  const mimeType = firstHeader(echo, 'content-type') ?? 'application/octet-stream'
  const utf8 = isUtf8(rawBody)
  const data: HarPostData = utf8
    ? { mimeType, text: rawBody.toString('utf8') }
    : { mimeType, text: rawBody.toString('base64'), encoding: 'base64' }
  if (echo.bodyEncoding === 'form' && utf8) {
    const params: HarParam[] = []
    for (const [name, value] of new URLSearchParams(data.text)) params.push({ name, value })
    data.params = params
  } else if (echo.bodyEncoding === 'multipart') {
    // multipart bodies with a binary file part are base64 in text, yet their fields still list here
    const params = multipartParams(echo.body)
    if (params !== undefined) data.params = params
  }
  return data
}

/** The request as a HAR 1.2 request object; plain data, safe to JSON.stringify. */
export function formatHar (echo: Echo, rawBody: Buffer | null): HarRequest {
  const headers: HarNameValue[] = new Array(echo.rawHeaders.length)
  for (let i = 0; i < echo.rawHeaders.length; i++) {
    headers[i] = { name: echo.rawHeaders[i][0], value: echo.rawHeaders[i][1] }
  }
  const har: HarRequest = {
    method: echo.method,
    url: absoluteUrl(echo),
    httpVersion: 'HTTP/' + echo.httpVersion,
    cookies: cookies(echo),
    headers,
    queryString: queryString(echo.url),
    // Node decodes HTTP/1 header bytes as latin1, so string length is the byte count on the wire
    headersSize: echo.httpVersion.charCodeAt(0) === 50 /* 2 */ ? -1 : requestHead(echo).length,
    bodySize: rawBody === null ? echo.bodyBytes : rawBody.length
  }
  if (rawBody !== null && rawBody.length > 0) har.postData = postData(echo, rawBody)
  return har
}
