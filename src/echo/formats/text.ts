// ?format=text / Accept: text/plain — the request as it would look on an HTTP/1.1 wire, for reading in a
// terminal or pasting into `nc`. Lines end in CRLF like the wire, so the header block is byte-comparable with
// a capture; the body follows verbatim (no newline is added, so the bytes shown are the bytes received).
import { isUtf8 } from 'node:buffer'
import type { Echo } from '../types.ts'

const CRLF = '\r\n'

/**
 * Request line and header block, up to and including the blank line. Headers come from rawHeaders: arrival
 * order, original case, duplicates kept. Node trims optional whitespace around values, so `Name: value`
 * is a reconstruction, not the literal bytes. For HTTP/2 the pseudo-headers (`:authority`, …) appear as
 * Node received them, since there is no HTTP/1 text to recover.
 */
export function requestHead (echo: Echo): string {
  let out = echo.method + ' ' + echo.url + ' HTTP/' + echo.httpVersion + CRLF
  const raw = echo.rawHeaders
  for (let i = 0; i < raw.length; i++) out += raw[i][0] + ': ' + raw[i][1] + CRLF
  return out + CRLF
}

/**
 * The request as raw HTTP/1.1 text (serve as `text/plain; charset=utf-8`). A body that is not valid UTF-8
 * (binary, or still gzip-encoded — these are the wire bytes) is shown as a one-line note and its base64.
 */
export function formatText (echo: Echo, rawBody: Buffer | null): string {
  const head = requestHead(echo)
  if (rawBody === null || rawBody.length === 0) return head
  if (isUtf8(rawBody)) return head + rawBody.toString('utf8')
  // bodySha256 is the digest of these same bytes; no need to hash them again
  return head + '[binary body: ' + rawBody.length + ' bytes, sha256 ' + echo.bodySha256 + ', shown as base64]' +
    CRLF + rawBody.toString('base64')
}
