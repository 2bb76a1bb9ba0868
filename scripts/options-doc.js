// `npm run docs:options`: writes docs/options.md from the option schema (run after `npm run build`; the npm
// script does both). test/config/options-doc.test.ts fails when the committed file differs from the schema.
import { mkdir, writeFile } from 'node:fs/promises'
import { optionsReference } from '../dist/src/config/options-doc.js'

await mkdir(new URL('../docs/', import.meta.url), { recursive: true })
await writeFile(new URL('../docs/options.md', import.meta.url), optionsReference())
console.log('wrote docs/options.md')
