// docs/options.md, generated from the option schema so the reference cannot drift from the code:
// `npm run docs:options` writes it, and a test fails when the committed file differs.
import { OPTION_GROUPS, optionInfo, type OptionName } from './options.ts'

const INTRO = `# echoscope options

Every option can be given three ways, and the first one found wins:

1. a flag: \`--body-limit 2mb\` or \`--body-limit=2mb\`;
2. an environment variable: \`ECHOSCOPE_\` and the flag's name in capitals with underscores
   (\`ECHOSCOPE_BODY_LIMIT=2mb\`); \`PORT\`, \`HTTP_PORT\` and \`HOST\` are read too, after their \`ECHOSCOPE_\` names;
3. in code, the embedded plugin's option of the same name in camelCase (\`bodyLimit: 2 * 1024 * 1024\`).

Sizes are bytes or a number with \`kb\`, \`mb\` or \`gb\` (powers of 1024); durations are milliseconds
or a number with \`ms\`, \`s\`, \`m\` or \`h\`. Lists are comma-separated (a list flag may also be repeated).
A switch is on with \`--log-headers\`, \`--log-headers=true\` or \`--log-headers true\` and off with
\`--no-log-headers\`, \`--log-headers=false\` or \`--log-headers false\` (also yes/no, on/off, 1/0); a
switch that is on by default is listed by its off form, like \`--no-metrics\`.
A bad value stops echoscope at start with one line naming the option, and exit status 2.

This file is generated from the option schema in \`src/config/options.ts\`: edit the schema, then run
\`npm run docs:options\`.
`

/** Markdown table cells hold no pipes or line breaks, and `x-echo-*` is not emphasis. */
const cell = (text: string) => text.replace(/[|*]/g, c => '\\' + c).replace(/\n/g, ' ')
const code = (text: string) => '`' + text + '`'

/** The whole docs/options.md. */
export function optionsReference (): string {
  const out = [INTRO]
  for (const [heading, names] of OPTION_GROUPS) {
    out.push(`## ${heading}`, '', '| Flag | Environment | Kind | Default | What it does | Allowed |', '| --- | --- | --- | --- | --- | --- |')
    for (const name of names as OptionName[]) {
      const o = optionInfo(name)
      out.push('| ' + [code(o.usage), o.env.map(code).join(', '), o.kind, cell(o.default), cell(o.description), cell(o.allowed)].join(' | ') + ' |')
    }
    out.push('')
  }
  return out.join('\n')
}
