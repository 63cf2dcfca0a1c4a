import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { API_ROUTES, apiPath } from '@/api/paths'
// @ts-expect-error plain ESM script without types
import { check, documentPaths, shape } from '../scripts/check-api.mjs'

const apiDir = join(__dirname, '..', 'src', 'api')

describe('API paths', () => {
  it('fills and encodes path parameters', () => {
    expect(apiPath('ticket', { id: 'T-2021/05 1' })).toBe('/api/v1/tickets/T-2021%2F05%201')
    expect(apiPath('ticketEvidenceFile', { id: 'T1', sha256: 'ab' })).toBe('/api/v1/tickets/T1/evidence/ab')
    expect(() => apiPath('ticket')).toThrow(/missing id/)
  })
  it('every listed route is used by a client, and no client spells a path of its own', () => {
    const sources = readdirSync(apiDir)
      .filter((f) => f.endsWith('.ts') && f !== 'paths.ts')
      .map((f) => readFileSync(join(apiDir, f), 'utf8'))
      .join('\n')
    for (const name of Object.keys(API_ROUTES)) expect(sources, name).toContain(`apiPath('${name}'`)
    expect(sources).not.toMatch(/['"`]\/api\//)
  })
  it('the routes are what API.md lists', () => {
    const listed = Object.values(API_ROUTES).flatMap((r) => r.methods.map((m) => `${m.toUpperCase()} ${r.path}`))
    expect(listed).toContain('POST /api/v1/tickets/{id}/commands')
    expect(listed).toContain('PUT /api/v1/admin/directory')
    expect(listed).toContain('DELETE /api/v1/session')
    expect(listed).toHaveLength(23)
  })
})

describe('check-api', () => {
  const doc = (paths: Record<string, object>, servers?: { url: string }[]) => ({ openapi: '3.0.0', servers, paths })
  it('matches path templates whatever their parameters are named', () => {
    expect(shape('/api/v1/tickets/{ticket_id}/phone')).toBe(shape('/api/v1/tickets/{id}/phone'))
    const found = documentPaths(doc({ '/api/v1/tickets/{ticket_id}': { get: {} } }))
    expect(check({ t: { path: '/api/v1/tickets/{id}', methods: ['get'] } }, found)).toEqual([])
  })
  it('reports missing paths and missing methods', () => {
    const found = documentPaths(doc({ '/api/v1/session': { get: {} } }))
    expect(check({ s: { path: '/api/v1/session', methods: ['get', 'post'] }, d: { path: '/api/v1/directory', methods: ['get'] } }, found)).toEqual([
      'missing method POST /api/v1/session  (s)',
      'missing path   /api/v1/directory  (d)',
    ])
  })
  it('understands a server URL that carries the /api/v1 prefix', () => {
    const found = documentPaths(doc({ '/tickets': { get: {} } }, [{ url: 'https://hall.example/api/v1' }]))
    expect(check({ t: { path: '/api/v1/tickets', methods: ['get'] } }, found)).toEqual([])
  })
  it('passes against a document with exactly the console’s routes', () => {
    const paths: Record<string, Record<string, object>> = {}
    for (const r of Object.values(API_ROUTES)) paths[r.path] = Object.fromEntries(r.methods.map((m) => [m, {}]))
    expect(check(API_ROUTES, documentPaths(doc(paths)))).toEqual([])
  })
})
