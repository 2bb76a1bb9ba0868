import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { optionsReference } from '../../src/config/options-doc.ts'
import { OPTION_NAMES, envName, kebab, loadOptions } from '../../src/config/options.ts'

test('docs/options.md is what the option schema generates', () => {
  const committed = readFileSync(new URL('../../../docs/options.md', import.meta.url), 'utf8')
  assert.ok(committed === optionsReference(), 'docs/options.md is out of date with src/config/options.ts: run `npm run docs:options`')
})

test('the reference has a row for every option: flag, env var, kind, default in typed units', () => {
  const doc = optionsReference()
  const defaults = loadOptions([], {})
  for (const name of OPTION_NAMES) {
    const row = doc.split('\n').find(l => l.startsWith('| `--' + kebab(name)) || l.startsWith('| `--no-' + kebab(name) + '`'))
    assert.ok(row !== undefined, `no row for --${kebab(name)}`)
    const cells = row.split(' | ')
    assert.ok(cells[1].includes('`' + envName(name) + '`'), `${name}: ${cells[1]}`)
    assert.ok(cells[2] !== '' && cells[4] !== '' && cells[5] !== '', `${name} has kind, description and allowed`)
    const value = defaults[name]
    if (typeof value === 'number' && /<(size|duration)>/.test(cells[0])) {
      // typed back, the documented default is the default
      assert.equal(loadOptions([`--${kebab(name)}`, cells[3]], {})[name], value, `${name} default ${cells[3]}`)
    }
  }
  assert.match(doc, /\| `--body-limit <size>` \| `ECHOSCOPE_BODY_LIMIT` \| size \| 1mb \|/)
  assert.match(doc, /\| `--port <port>` \| `ECHOSCOPE_PORT`, `PORT`, `HTTP_PORT` \| port \| 8080 \|/)
  assert.match(doc, /\| `--no-metrics` \| `ECHOSCOPE_METRICS` \| switch \| on \|/)
})
