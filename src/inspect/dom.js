// The page's few DOM helpers. Values are set as attributes and text nodes, never parsed as HTML: a request's
// headers, path and body show as the text they are.

/** el('td', { class: 'x', onclick: fn }, 'text', child…): attributes by setAttribute, children as text nodes. */
export function el (tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === 'function') node.addEventListener(name.slice(2), value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  add(node, children)
  return node
}

/** Appends children (nested lists flattened, null, undefined and false left out), strings as text nodes. */
export function add (node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue
    if (Array.isArray(child)) add(node, child)
    else node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }
}

export const $ = id => document.getElementById(id)

export const note = text => el('p', { class: 'note' }, text)
