// A bad test file is refused before anything is sent, each problem named with its line, column and key.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseTestFile, TestFileError } from '../../src/contract/load.ts'
import { jsonSchema } from '../../src/contract/schema.ts'
import { runCli } from '../helper.ts'

const opts = { timeoutMs: 1000, env: { TOKEN: 'abc' } }
const problems = (text: string): string[] => {
  try {
    parseTestFile(text, 'g.yaml', opts)
  } catch (err) {
    if (err instanceof TestFileError) return err.problems
    throw err
  }
  assert.fail('the file was accepted')
}

test('unknown keys, wrong forms, bad regexes and missing variables are named with line, column and path', () => {
  assert.deepEqual(problems(`gateway: http://gw
cases:
  - name: a
    expect:
      upstream:
        headrs: { x: present }
      response:
        status: 2x
  - name: b
    request: { path: /x, headers: { authorization: "Bearer \${NOPE}" } }
    expect: { upstream: { path: "/(/" } }
`), [
    'g.yaml:6:9: cases[0].expect.upstream.headrs: unknown key "headrs" (allowed: method, path, query, headers, body, protocol, httpVersion)',
    'g.yaml:8:17: cases[0].expect.response.status: must be a status code (200), a class ("2xx"), a range ("200-299") or a list of codes ([200, 204])',
    'g.yaml:10:52: cases[1].request.headers.authorization: environment variable NOPE is not set'
  ])
  assert.deepEqual(problems(`gateway: http://gw
cases:
  - name: a
    request: { path: /x, url: "http://h/x", json: 1, body: "x" }
    expect: { answeredBy: gateway, upstream: { path: "/(/" } }
  - name: a
    repeat: 1
    replicas: { atLeast: 2 }
`), [
    'g.yaml:4:31: cases[0].request.url: give url or path, not both',
    'g.yaml:4:51: cases[0].request.json: give one of body, json and form, not body and json',
    'g.yaml:5:46: cases[0].expect.upstream: nothing arrives upstream when the gateway answers itself: drop upstream or answeredBy',
    'g.yaml:5:54: cases[0].expect.upstream.path: invalid regular expression /(/: Unterminated group',
    'g.yaml:6:11: cases[1].name: the name "a" is also case 0\'s: names must be unique (they name the JUnit test cases)',
    'g.yaml:8:15: cases[1].replicas: needs repeat of 2 or more'
  ])
  assert.deepEqual(problems(`gateway: http://gw
cases:
  - name: a
    repeat: 4
    replicas: { weights: { a: 0 }, sticky: true }
  - name: b
    repeat: 4
    replicas:
      tolerance: 20
`), [
    'g.yaml:5:26: cases[0].replicas.weights: needs at least one weight above 0',
    'g.yaml:9:18: cases[1].replicas.tolerance: applies to weights, which are not given'
  ])
  assert.deepEqual(problems('gateway: http://gw\ncases:\n  - name: a\n    repeat: 4\n    replicas: { sticky: yes }\n'),
    ['g.yaml:5:25: cases[0].replicas.sticky: must be boolean'])
  assert.deepEqual(problems('cases:\n  - name: a\n    request: { path: /x }\n'), ['g.yaml:3:22: cases[0].request.path: no gateway to send it to: set gateway at the top of the file or pass --gateway'])
  assert.match(problems('cases: [\n')[0], /^g\.yaml:2:1: not valid YAML or JSON: /)
})

test('a good file becomes requests built byte for byte: defaults merged, the path as written, variables expanded', () => {
  const plan = parseTestFile(`gateway: http://gw.test:8000/base/
defaults: { headers: { X-Team: pay, Accept: text/plain } }
cases:
  - name: a
    request: { path: "/a/%2e%2e/b?q=1", headers: { accept: application/json, authorization: "Bearer \${TOKEN} $\${literal}" }, json: { a: 1 } }
`, 'g.yaml', opts)
  const req = plan.cases[0].request
  assert.equal(req.method, 'POST')
  assert.equal(req.target, '/base/a/%2e%2e/b?q=1')
  assert.deepEqual(req.headers.map(([n, v]) => `${n}: ${v}`), [
    'Host: gw.test:8000', 'User-Agent: ' + req.headers[1][1], 'X-Team: pay', 'accept: application/json',
    'authorization: Bearer abc $' + '{literal}', 'Content-Type: application/json', 'Content-Length: 7', 'Connection: close'])
  assert.equal(req.body.toString(), '{"a":1}')
})

test('--print-schema prints the JSON Schema editors read', async () => {
  const r = await runCli(['test', '--print-schema'])
  assert.equal(r.code, 0)
  assert.deepEqual(JSON.parse(r.stdout), jsonSchema())
  assert.deepEqual(JSON.parse(r.stdout).required, ['cases'])
  const usage = await runCli(['test'])
  assert.equal(usage.code, 2)
  assert.equal(usage.stderr, 'echoscope test: give exactly one test file, e.g. echoscope test gateway.yaml\n')
  const missing = await runCli(['test', '/nonexistent/g.yaml'])
  assert.deepEqual([missing.code, missing.stderr], [2, 'cannot read /nonexistent/g.yaml: no such file\n'])
})
