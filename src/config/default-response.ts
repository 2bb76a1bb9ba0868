// The server-wide default response (--response-*), read and checked once at start: a body file that cannot
// be read, or is larger than the cap, is a ConfigError naming the option, never a failure per request.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { extname } from 'node:path'
import { ConfigError, RESPONSE_BODY_FILE_MAX, formatSize, type Options } from './options.ts'
import { READ_ERRORS } from './tls.ts'

export interface DefaultResponse {
  /** 0: the echo's own (200, or a control's) */
  status: number
  /** in the order given; a name given twice is sent twice */
  headers: [string, string][]
  /** replaces the echo; undefined: the echo is the body */
  body?: Buffer
  contentType: string
  /** the paths it applies to (--response-path); empty: every echo path */
  paths: string[]
}

// The types a body file is most often served as; anything else is a byte stream.
const BY_EXTENSION: Record<string, string> = {
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.csv': 'text/csv; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.pdf': 'application/pdf'
}

function readBodyFile (path: string): Buffer {
  const label = `invalid --response-body-file ${JSON.stringify(path)}`
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const stat = fstatSync(fd)
    if (stat.isDirectory()) throw new ConfigError(`${label}: it is a directory, not a file`)
    // Reads one byte past the cap, so a file that grew since fstat is still refused rather than cut.
    const buf = Buffer.alloc(Math.min(stat.size, RESPONSE_BODY_FILE_MAX) + 1)
    let length = 0
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null)
      if (n === 0) break
      length += n
    }
    if (length > RESPONSE_BODY_FILE_MAX) throw new ConfigError(`${label}: larger than ${formatSize(RESPONSE_BODY_FILE_MAX)}`)
    return buf.subarray(0, length)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? ''
    throw new ConfigError(`${label}: ${READ_ERRORS[code] ?? `cannot read it (${code !== '' ? code : (err as Error).message})`}`)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** The default response the options describe, or null when none of --response-status/-header/-body* is set. */
export function loadDefaultResponse (opts: Options): DefaultResponse | null {
  const file = opts.responseBodyFile
  if (opts.responseStatus === 0 && opts.responseHeader.length === 0 && opts.responseBody === '' && file === '') return null
  const headers = opts.responseHeader.map(line => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()] as [string, string]
  })
  const out: DefaultResponse = { status: opts.responseStatus, headers, contentType: opts.responseContentType.trim(), paths: opts.responsePath }
  if (file !== '') {
    out.body = readBodyFile(file)
    if (out.contentType === '') out.contentType = BY_EXTENSION[extname(file).toLowerCase()] ?? 'application/octet-stream'
  } else if (opts.responseBody !== '') {
    out.body = Buffer.from(opts.responseBody)
  }
  if (out.contentType === '') out.contentType = 'text/plain; charset=utf-8'
  return out
}
