// Plain values as text for the page: no DOM here, so Node can import it too.

export const pad = (n, w = 2) => String(n).padStart(w, '0')

/** hh:mm:ss.mmm in the browser's time zone; anything that is not a date, as it is. */
export function clock (date) {
  const d = new Date(date)
  if (Number.isNaN(d.getTime())) return String(date)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** Any value as one line of text for a table cell. */
export function cell (value) {
  if (value === undefined || value === null) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** An object's pairs, one per value when a value is a list (a repeated query parameter or cookie). */
export function entries (obj) {
  const out = []
  for (const [k, v] of Object.entries(obj ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, x])
  }
  return out
}
