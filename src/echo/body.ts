// Request body → echo value. Content codings are undone with hard output caps (a zip bomb costs at most
// the cap in memory), then the media type decides how the bytes are shown. A body is never rejected for
// being malformed: when a declared format does not parse, the bytes are echoed as they are with `bodyError`.

import { createHash } from 'node:crypto'
import { isUtf8, constants as bufferConstants } from 'node:buffer'
import { parse as parseQuery } from 'node:querystring'
import zlib from 'node:zlib'
import { Busboy } from '@fastify/busboy'
import type { MultipartFile, ParsedBody } from './types.ts'

export interface BodyLimits {
  /** largest body, in bytes, that content decoding may produce */
  maxDecodedSize: number
  /** largest decoded/wire size ratio; see DECODE_FLOOR for small bodies */
  maxDecodeRatio: number
}

export type DecodeLimitName = 'maxDecodedSize' | 'maxDecodeRatio'

export class BodyTooLargeError extends Error {
  readonly statusCode = 413
  readonly code = 'FST_ERR_CTP_BODY_TOO_LARGE'
  /** which cap was hit */
  readonly limit: DecodeLimitName

  constructor (message: string, limit: DecodeLimitName) {
    super(message)
    this.name = 'BodyTooLargeError'
    this.limit = limit
  }
}

/**
 * The ratio cap never goes below this: a 20-byte gzip of `{}` or a short JSON document legitimately
 * expands far more than any sane ratio, and 64 KiB is harmless. maxDecodedSize still wins when smaller.
 */
export const DECODE_FLOOR = 64 * 1024

/** Multipart abuse guards: every limit hit turns the multipart echo into a raw echo with bodyError. */
export const MULTIPART_MAX_PARTS = 1000
export const MULTIPART_MAX_FIELD_SIZE = 1024 * 1024
const MULTIPART_MAX_HEADER_PAIRS = 100

type Decoder = (input: Buffer, maxOutputLength: number) => Promise<Buffer>
type ZlibFn = (buf: Buffer, options: zlib.ZlibOptions, callback: (error: Error | null, result: Buffer) => void) => void

function promised (fn: ZlibFn): Decoder {
  return (input, maxOutputLength) => new Promise((resolve, reject) => {
    fn(input, { maxOutputLength }, (err, out) => { if (err) reject(err); else resolve(out) })
  })
}

const gunzip = promised(zlib.gunzip)
const inflate = promised(zlib.inflate)
const inflateRaw = promised(zlib.inflateRaw)
const brotli = promised(zlib.brotliDecompress as ZlibFn)

/** RFC 1950 header: CM = 8 (deflate), CINFO ≤ 7, and the first two bytes are a multiple of 31. */
function looksZlibWrapped (buf: Buffer): boolean {
  return buf.length >= 2 && (buf[0] & 0x0f) === 8 && (buf[0] >> 4) <= 7 && ((buf[0] << 8) | buf[1]) % 31 === 0
}

// `deflate` means zlib-wrapped per RFC 9110, but some clients (and old IIS) send raw deflate.
async function inflateEither (input: Buffer, maxOutputLength: number): Promise<Buffer> {
  if (!looksZlibWrapped(input)) return inflateRaw(input, maxOutputLength)
  try {
    return await inflate(input, maxOutputLength)
  } catch (err) {
    if (isCapError(err)) throw err
    // a raw stream can start with bytes that pass the header check by chance
    try {
      return await inflateRaw(input, maxOutputLength)
    } catch {
      throw err
    }
  }
}

const DECODERS = new Map<string, Decoder>([
  ['gzip', gunzip],
  ['x-gzip', gunzip],
  ['deflate', inflateEither],
  ['br', brotli]
])

function isCapError (err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE'
}

type Kind = 'json' | 'form' | 'multipart' | 'text' | 'binary'

const EXACT_KINDS = new Map<string, Kind>([
  ['application/json', 'json'],
  ['application/x-www-form-urlencoded', 'form'],
  ['multipart/form-data', 'multipart'],
  // ndjson / JSON Lines are several documents, so they are shown as text, not parsed
  ['application/x-ndjson', 'text'],
  ['application/jsonl', 'text'],
  ['application/xml', 'text'],
  ['application/javascript', 'text'],
  ['application/ecmascript', 'text'],
  ['application/graphql', 'text'],
  ['application/yaml', 'text'],
  ['application/x-yaml', 'text']
])

/** Media type decision; parameters (charset, boundary) are ignored here. */
function kindOf (contentType: string | undefined): Kind | undefined {
  if (contentType === undefined) return undefined
  const semi = contentType.indexOf(';')
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  if (type === '') return undefined
  const exact = EXACT_KINDS.get(type)
  if (exact !== undefined) return exact
  if (type.endsWith('+json')) return 'json'
  if (type.startsWith('text/') || type.endsWith('+xml')) return 'text'
  return 'binary'
}

function firstHeader (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Codings in the order they must be undone (reverse of the header order); identity dropped. */
function codingsToUndo (header: string | string[]): string[] {
  const joined = Array.isArray(header) ? header.join(',') : header
  const out: string[] = []
  for (const token of joined.split(',')) {
    const coding = token.trim().toLowerCase()
    if (coding !== '' && coding !== 'identity') out.push(coding)
  }
  return out.reverse()
}

function decodeCap (wireBytes: number, limits: BodyLimits): { cap: number, limit: DecodeLimitName } {
  const byRatio = Math.max(DECODE_FLOOR, Math.floor(wireBytes * limits.maxDecodeRatio))
  const limit: DecodeLimitName = limits.maxDecodedSize <= byRatio ? 'maxDecodedSize' : 'maxDecodeRatio'
  const cap = Math.min(limits.maxDecodedSize, byRatio)
  // zlib wants an integer in [1, kMaxLength]; Infinity means "no cap of this kind"
  return { cap: Math.max(1, Math.min(Math.floor(cap), bufferConstants.MAX_LENGTH)), limit }
}

function tooLarge (cap: number, limit: DecodeLimitName, wireBytes: number, limits: BodyLimits): BodyTooLargeError {
  if (limit === 'maxDecodedSize') {
    return new BodyTooLargeError(`Decoded request body exceeds the decoded size limit of ${cap} bytes (--max-decoded-size; maxDecodedSize when embedded)`, limit)
  }
  return new BodyTooLargeError(
    `Decoded request body exceeds ${cap} bytes, the decode ratio limit of ${limits.maxDecodeRatio}× its ${wireBytes} ` +
    `encoded bytes (--max-decode-ratio, maxDecodeRatio when embedded; never below ${DECODE_FLOOR} bytes)`, limit)
}

function base64 (buf: Buffer, bodyError?: string, decodedBytes?: number): ParsedBody {
  const out: ParsedBody = { body: buf.toString('base64'), bodyEncoding: 'base64' }
  if (bodyError !== undefined) out.bodyError = bodyError
  if (decodedBytes !== undefined) out.decodedBytes = decodedBytes
  return out
}

/** Fallback when a declared format did not parse: readable text when possible, else base64. */
function asIs (buf: Buffer, bodyError: string, decodedBytes: number | undefined, utf8 = isUtf8(buf)): ParsedBody {
  if (!utf8) return base64(buf, `${bodyError}; body is not valid UTF-8, echoed as base64`, decodedBytes)
  const out: ParsedBody = { body: buf.toString('utf8'), bodyEncoding: 'text', bodyError }
  if (decodedBytes !== undefined) out.decodedBytes = decodedBytes
  return out
}

function done (body: unknown, bodyEncoding: ParsedBody['bodyEncoding'], decodedBytes: number | undefined): ParsedBody {
  return decodedBytes === undefined ? { body, bodyEncoding } : { body, bodyEncoding, decodedBytes }
}

/**
 * The body as the echo shows it, when that needs no waiting: no content coding to undo and not multipart
 * (the two steps that run off the main thread or stream). `undefined` means: use parseBody. This lets the
 * common bodies (JSON, forms, text, binary) be echoed without a promise.
 */
export function parseBodySync (raw: Buffer | null, headers: Record<string, string | string[] | undefined>): ParsedBody | undefined {
  if (raw === null || raw.length === 0) return { body: null, bodyEncoding: 'none' }
  const encodingHeader = headers['content-encoding']
  if (encodingHeader !== undefined && codingsToUndo(encodingHeader).length > 0) return undefined
  const contentType = firstHeader(headers['content-type'])
  const kind = kindOf(contentType)
  if (kind === 'multipart') return undefined
  return parseDecoded(raw, kind, contentType, undefined)
}

export async function parseBody (
  raw: Buffer | null,
  headers: Record<string, string | string[] | undefined>,
  limits: BodyLimits
): Promise<ParsedBody> {
  if (raw === null || raw.length === 0) return { body: null, bodyEncoding: 'none' }

  let buf = raw
  let decodedBytes: number | undefined
  const encodingHeader = headers['content-encoding']
  if (encodingHeader !== undefined) {
    const codings = codingsToUndo(encodingHeader)
    if (codings.length > 0) {
      for (const coding of codings) {
        if (!DECODERS.has(coding)) {
          return base64(raw, `unsupported Content-Encoding "${coding}"; raw bytes echoed as base64`)
        }
      }
      const { cap, limit } = decodeCap(raw.length, limits)
      for (const coding of codings) {
        try {
          buf = await (DECODERS.get(coding) as Decoder)(buf, cap)
        } catch (err) {
          if (isCapError(err)) throw tooLarge(cap, limit, raw.length, limits)
          return base64(raw, `Content-Encoding "${coding}" could not be decoded (${(err as Error).message}); raw bytes echoed as base64`)
        }
      }
      decodedBytes = buf.length
      if (buf.length === 0) return { body: null, bodyEncoding: 'none', decodedBytes }
    }
  }

  const contentType = firstHeader(headers['content-type'])
  const kind = kindOf(contentType)
  if (kind === 'multipart') return parseMultipart(buf, contentType as string, decodedBytes)
  return parseDecoded(buf, kind, contentType, decodedBytes)
}

/** Decoded bytes of any kind but multipart → the echo's value. */
function parseDecoded (buf: Buffer, kind: Kind | undefined, contentType: string | undefined, decodedBytes: number | undefined): ParsedBody {
  switch (kind) {
    case 'json': return parseJson(buf, decodedBytes)
    case 'form': return parseForm(buf, decodedBytes)
    case 'text':
      return isUtf8(buf)
        ? done(buf.toString('utf8'), 'text', decodedBytes)
        : base64(buf, `Content-Type ${contentType} but the body is not valid UTF-8; echoed as base64`, decodedBytes)
    case 'binary': return base64(buf, undefined, decodedBytes)
    default:
      // no Content-Type: show text when it plainly is text
      return isUtf8(buf) && buf.indexOf(0) === -1
        ? done(buf.toString('utf8'), 'text', decodedBytes)
        : base64(buf, undefined, decodedBytes)
  }
}

function parseJson (buf: Buffer, decodedBytes: number | undefined): ParsedBody {
  if (!isUtf8(buf)) return base64(buf, 'invalid JSON: body is not valid UTF-8; echoed as base64', decodedBytes)
  let text = buf.toString('utf8')
  // RFC 8259 lets parsers ignore a byte order mark; JSON.parse does not
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  try {
    return done(JSON.parse(text), 'json', decodedBytes)
  } catch (err) {
    return asIs(buf, `invalid JSON: ${(err as Error).message}`, decodedBytes, true)
  }
}

function parseForm (buf: Buffer, decodedBytes: number | undefined): ParsedBody {
  if (!isUtf8(buf)) return base64(buf, 'invalid form: body is not valid UTF-8; echoed as base64', decodedBytes)
  // maxKeys 0: no silent truncation, the body size is already bounded. The spread turns querystring's
  // null-prototype object into a plain one while keeping a `__proto__` field an ordinary key.
  const form = { ...parseQuery(buf.toString('utf8'), '&', '=', { maxKeys: 0 }) }
  return done(form, 'form', decodedBytes)
}

interface MultipartResult {
  fields: Record<string, string | string[]>
  files: MultipartFile[]
}

function addField (fields: Map<string, string | string[]>, name: string, value: string): void {
  const prev = fields.get(name)
  if (prev === undefined) fields.set(name, value)
  else if (Array.isArray(prev)) prev.push(value)
  else fields.set(name, [prev, value])
}

function readMultipart (buf: Buffer, contentType: string): Promise<MultipartResult | string> {
  return new Promise((resolve) => {
    let settled = false
    const settle = (result: MultipartResult | string): void => {
      if (settled) return
      settled = true
      resolve(result)
    }

    let bb: ReturnType<typeof Busboy>
    try {
      bb = Busboy({
        headers: { 'content-type': contentType },
        // show file names exactly as the client sent them, directories included
        preservePath: true,
        limits: {
          parts: MULTIPART_MAX_PARTS,
          fieldSize: MULTIPART_MAX_FIELD_SIZE,
          headerPairs: MULTIPART_MAX_HEADER_PAIRS
        }
      })
    } catch (err) {
      settle((err as Error).message)
      return
    }

    const fields = new Map<string, string | string[]>()
    const files: MultipartFile[] = []

    bb.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) settle(`field "${name}" is longer than ${MULTIPART_MAX_FIELD_SIZE} bytes`)
      else addField(fields, name ?? '', value)
    })
    bb.on('file', (field, stream, filename, _transferEncoding, mimeType) => {
      const file: MultipartFile = { field: field ?? '', filename: filename ?? '', type: mimeType, size: 0, sha256: '' }
      files.push(file)
      const hash = createHash('sha256')
      stream.on('data', (chunk: Buffer) => {
        file.size += chunk.length
        hash.update(chunk)
      })
      stream.on('end', () => { file.sha256 = hash.digest('hex') })
      // Dicer reports a truncated part on the file stream too; the busboy error below carries the message
      stream.on('error', () => {})
    })
    bb.on('partsLimit', () => settle(`more than ${MULTIPART_MAX_PARTS} parts`))
    bb.on('error', (err) => settle((err as Error).message))
    bb.on('finish', () => settle({ fields: Object.fromEntries(fields), files }))
    bb.end(buf)
  })
}

async function parseMultipart (buf: Buffer, contentType: string, decodedBytes: number | undefined): Promise<ParsedBody> {
  const result = await readMultipart(buf, contentType)
  if (typeof result === 'string') return asIs(buf, `invalid multipart/form-data: ${result}`, decodedBytes)
  return done(result, 'multipart', decodedBytes)
}
