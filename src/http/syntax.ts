// HTTP field syntax (RFC 9110) shared by the request controls and the start-up options that set response
// headers: both must refuse what would split or end the response head.

/** A header name or a media type part: a token. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** A field value may hold visible ASCII, spaces/tabs and obs-text; CR, LF and NUL would split or end the head. */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** `type/subtype` with optional parameters, like `text/plain; charset=utf-8`. */
export const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/

/** Headers Node writes from the message framing itself: setting them by hand would corrupt the response. */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te'
])
