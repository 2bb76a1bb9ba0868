// The request list: newest on top, at most MAX_ROWS, filtered by path and method; a click or Enter on a row
// selects it.
import { $, el } from './dom.js'
import { cell, clock } from './format.js'

const MAX_ROWS = 1000

function row (e) {
  const replica = e.server?.pod ?? e.server?.instance
  const status = Number(e.statusCode)
  const tr = el('tr', { tabindex: 0, class: 'row' },
    el('td', { class: 'time', title: cell(e.receivedAt) }, clock(e.receivedAt)),
    el('td', { class: 'method' }, cell(e.method)),
    el('td', { class: 'path', title: cell(e.url) }, cell(e.url)),
    el('td', { class: `status s${Math.floor(status / 100)}` }, cell(e.statusCode)),
    el('td', { class: 'replica', title: cell(e.server?.hostname) }, cell(replica)))
  tr.dataset.id = e.requestId
  return tr
}

/**
 * Wires the list to the page's table, filters and Clear button. `onSelect(entry)` runs for the row chosen,
 * `onClear()` when the list is emptied. Returns `addEntry(entry, fresh)`, `fresh` for one that just arrived.
 */
export function createList ({ onSelect, onClear }) {
  const known = new Map()
  const rows = $('rows')
  const pathFilter = $('filter-path')
  const methodFilter = $('filter-method')
  const methods = new Set(Array.from(methodFilter.options, o => o.value))
  let selected = null

  function visible (e) {
    const path = pathFilter.value.trim().toLowerCase()
    return (path === '' || String(e.url).toLowerCase().includes(path)) && (methodFilter.value === '' || e.method === methodFilter.value)
  }

  function updateCount () {
    let shown = 0
    for (const tr of rows.children) if (!tr.hidden) shown++
    $('count').textContent = known.size === 0 ? '' : shown === known.size ? `${known.size} requests` : `${shown} of ${known.size} requests`
    $('empty').hidden = known.size > 0
  }

  /** Adds an entry in time order, newest on top (it is nearly always the newest: the loop stops at once). */
  function addEntry (e, fresh) {
    if (typeof e !== 'object' || e === null || known.has(e.requestId)) return
    known.set(e.requestId, e)
    const method = cell(e.method)
    if (!methods.has(method)) {
      methods.add(method)
      methodFilter.appendChild(el('option', null, method))
    }
    const tr = row(e)
    if (fresh) {
      tr.classList.add('new')
      tr.addEventListener('animationend', () => tr.classList.remove('new'), { once: true })
    }
    tr.hidden = !visible(e)
    let before = rows.firstElementChild
    while (before !== null && known.get(before.dataset.id).receivedAt > e.receivedAt) before = before.nextElementSibling
    rows.insertBefore(tr, before)
    while (known.size > MAX_ROWS) {
      const last = rows.lastElementChild
      known.delete(last.dataset.id)
      last.remove()
    }
    updateCount()
  }

  function select (tr) {
    const e = known.get(tr.dataset.id)
    if (e === undefined) return
    selected?.classList.remove('selected')
    selected = tr
    tr.classList.add('selected')
    onSelect(e)
  }

  rows.addEventListener('click', ev => {
    const tr = ev.target.closest('tr')
    if (tr !== null) select(tr)
  })
  rows.addEventListener('keydown', ev => {
    if (ev.key === 'Enter' && ev.target.matches('tr')) select(ev.target)
  })

  function applyFilter () {
    for (const tr of rows.children) tr.hidden = !visible(known.get(tr.dataset.id))
    updateCount()
  }
  pathFilter.addEventListener('input', applyFilter)
  methodFilter.addEventListener('change', applyFilter)
  $('clear').addEventListener('click', () => {
    known.clear()
    rows.replaceChildren()
    selected = null
    onClear()
    updateCount()
  })

  updateCount()
  return { addEntry }
}
