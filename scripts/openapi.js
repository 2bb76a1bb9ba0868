// `npm run openapi`: writes the OpenAPI document, exactly as a default echoscope serves it, to openapi/.
// Run after `npm run build` (the npm script does both). test/plugins/openapi.test.ts fails when they drift.
import { writeFile } from 'node:fs/promises'
import { buildServer } from '../dist/src/server.js'

const app = await buildServer({ logLevel: 'silent' })
try {
  for (const file of ['openapi.json', 'openapi.yaml']) {
    const res = await app.inject({ method: 'GET', url: `/${file}` })
    if (res.statusCode !== 200) throw new Error(`GET /${file} answered ${res.statusCode}: ${res.body}`)
    await writeFile(new URL(`../openapi/${file}`, import.meta.url), res.body)
    console.log(`wrote openapi/${file}`)
  }
} finally {
  await app.close()
}
