#!/usr/bin/env node
// Checks that every API path (and method) the console uses exists in the worker's OpenAPI document.
//
//   node scripts/check-api.mjs openapi.json
//   node scripts/check-api.mjs http://127.0.0.1:8080/openapi.json
//
// The console's paths are listed once, in src/api/paths.json (src/api/paths.ts builds every URL
// from it). This script also fails when a file in src/api/ spells an /api/ path of its own, so the
// list stays the whole truth. Path parameters match whatever they are named ({id} = {ticket_id}).
// Exit code: 0 all found, 1 something missing, 2 usage or unreadable document.
import { readFile, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const apiDir = join(here, '..', 'src', 'api')

async function loadDocument(source) {
  const text = /^https?:\/\//.test(source) ? await (await fetch(source)).text() : await readFile(source, 'utf8')
  const doc = JSON.parse(text)
  if (!doc || typeof doc !== 'object' || typeof doc.paths !== 'object') throw new Error('no "paths" object: not an OpenAPI document')
  return doc
}

/** Paths in the document, keyed by their shape with parameter names erased, with their methods. */
export function documentPaths(doc) {
  // A server URL with a path ("/api/v1") prefixes every path of the document.
  let prefix = ''
  const server = Array.isArray(doc.servers) ? doc.servers[0]?.url : undefined
  if (typeof server === 'string') {
    try {
      prefix = new URL(server, 'http://x').pathname.replace(/\/$/, '')
    } catch {
      prefix = ''
    }
  }
  const out = new Map()
  for (const [path, item] of Object.entries(doc.paths)) {
    const full = path.startsWith(prefix + '/') || !prefix ? path : prefix + path
    const methods = new Set(Object.keys(item ?? {}).map((m) => m.toLowerCase()))
    const key = shape(full)
    out.set(key, new Set([...(out.get(key) ?? []), ...methods]))
  }
  return out
}

export const shape = (path) => path.replace(/\{[^}]+\}/g, '{}').replace(/\/$/, '')

export function check(routes, docPaths) {
  const problems = []
  for (const [name, { path, methods }] of Object.entries(routes)) {
    const found = docPaths.get(shape(path))
    if (!found) {
      problems.push(`missing path   ${path}  (${name})`)
      continue
    }
    for (const m of methods) if (!found.has(m)) problems.push(`missing method ${m.toUpperCase()} ${path}  (${name})`)
  }
  return problems
}

async function strayPaths() {
  const stray = []
  for (const file of await readdir(apiDir)) {
    if (!file.endsWith('.ts') || file === 'paths.ts') continue
    const text = await readFile(join(apiDir, file), 'utf8')
    for (const m of text.matchAll(/['"`](\/api\/[^'"`]*)['"`]/g)) stray.push(`src/api/${file}: literal path ${m[1]} (use apiPath() from paths.ts)`)
  }
  return stray
}

async function main() {
  const source = process.argv[2]
  if (!source || source === '-h' || source === '--help') {
    console.error('usage: node scripts/check-api.mjs <openapi.json | URL>')
    process.exit(2)
  }
  let doc
  try {
    doc = await loadDocument(source)
  } catch (err) {
    console.error(`check-api: cannot read ${source}: ${err.message}`)
    process.exit(2)
  }
  const routes = JSON.parse(await readFile(join(apiDir, 'paths.json'), 'utf8'))
  const problems = [...check(routes, documentPaths(doc)), ...(await strayPaths())]
  const total = Object.keys(routes).length
  if (problems.length) {
    console.error(`check-api: ${problems.length} problem(s) against ${source}:`)
    for (const p of problems) console.error('  ' + p)
    process.exit(1)
  }
  console.log(`check-api: all ${total} console paths found in ${source}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
