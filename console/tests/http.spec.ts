import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '@/utils/errors'
import { http, request, setCsrfToken, setUnauthorizedHandler, withQuery } from '@/utils/http'

type Call = [string, RequestInit]
let fetchMock: ReturnType<typeof vi.fn>

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })

const lastCall = (): Call => fetchMock.mock.calls.at(-1) as Call
const headersOf = (c: Call) => c[1].headers as Record<string, string>

beforeEach(() => {
  fetchMock = vi.fn(async () => json(200, { ok: true }))
  vi.stubGlobal('fetch', fetchMock)
  setCsrfToken('tok-123')
  setUnauthorizedHandler(null)
})
afterEach(() => {
  vi.unstubAllGlobals()
  setCsrfToken(null)
  setUnauthorizedHandler(null)
})

describe('CSRF header', () => {
  it('is sent on POST, PUT, PATCH and DELETE', async () => {
    await http.post('/api/v1/tickets/T1/commands', { kind: 'ClaimTicket' })
    expect(headersOf(lastCall())['X-CSRF-Token']).toBe('tok-123')
    await http.put('/api/v1/admin/directory', {})
    expect(headersOf(lastCall())['X-CSRF-Token']).toBe('tok-123')
    await http.patch('/api/v1/admin/users/u', {})
    expect(headersOf(lastCall())['X-CSRF-Token']).toBe('tok-123')
    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }))
    await http.delete('/api/v1/session')
    expect(headersOf(lastCall())['X-CSRF-Token']).toBe('tok-123')
  })
  it('is not sent on GET', async () => {
    await http.get('/api/v1/tickets')
    expect(headersOf(lastCall())).not.toHaveProperty('X-CSRF-Token')
  })
  it('is not sent before sign-in (no token yet)', async () => {
    setCsrfToken(null)
    await http.post('/api/v1/session', { user_id: 'a', password: 'b' })
    expect(headersOf(lastCall())).not.toHaveProperty('X-CSRF-Token')
  })
})

describe('requests', () => {
  it('sends the cookie same-origin and JSON bodies as JSON', async () => {
    await http.post('/api/v1/session', { user_id: 'a', password: 'b' })
    const [url, init] = lastCall()
    expect(url).toBe('/api/v1/session')
    expect(init.method).toBe('POST')
    expect(init.credentials).toBe('same-origin')
    expect(headersOf(lastCall())['Content-Type']).toBe('application/json')
    expect(JSON.parse(init.body as string)).toEqual({ user_id: 'a', password: 'b' })
  })
  it('lets the browser set the multipart boundary for FormData', async () => {
    const form = new FormData()
    form.append('file', new Blob(['x']), 'a.pdf')
    await http.post('/api/v1/tickets/T1/evidence', form)
    expect(lastCall()[1].body).toBe(form)
    expect(headersOf(lastCall())).not.toHaveProperty('Content-Type')
    expect(headersOf(lastCall())['X-CSRF-Token']).toBe('tok-123')
  })
  it('drops empty query values', () => {
    expect(withQuery('/t', { state: 'opened', q: '', window: undefined, overdue: false, limit: 50 })).toBe('/t?state=opened&overdue=false&limit=50')
    expect(withQuery('/t', { q: '' })).toBe('/t')
  })
  it('parses JSON and returns undefined for 204', async () => {
    fetchMock.mockResolvedValueOnce(json(200, { tickets: [], total: 0 }))
    await expect(http.get('/api/v1/tickets')).resolves.toEqual({ tickets: [], total: 0 })
    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }))
    await expect(http.delete('/api/v1/session')).resolves.toBeUndefined()
  })
})

describe('errors', () => {
  it('turns a non-2xx into an ApiError with the Chinese message of its code, never the English text', async () => {
    fetchMock.mockResolvedValueOnce(json(409, { error: 'expected version 3, ticket is at 4', code: 'conflict' }))
    const err = await http.post('/x', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(409)
    expect((err as ApiError).code).toBe('conflict')
    expect((err as ApiError).message).toBe('该工单已被他人处理，已刷新为最新状态')
    expect((err as ApiError).message).not.toContain('expected version')
  })
  it('falls back to the status when the body is not JSON (a proxy page)', async () => {
    fetchMock.mockResolvedValueOnce(new Response('<html>Bad Gateway</html>', { status: 502 }))
    const err = (await http.get('/x').catch((e: unknown) => e)) as ApiError
    expect(err.message).toBe('服务暂时不可用，请稍后再试')
    expect(err.code).toBe('http_502')
  })
  it('reads retry_after of a lock from the body or the Retry-After header', async () => {
    fetchMock.mockResolvedValueOnce(json(429, { error: 'locked', code: 'locked', retry_after: 600 }))
    const a = (await http.post('/api/v1/session', {}, { skipAuthRedirect: true }).catch((e: unknown) => e)) as ApiError
    expect(a.message).toBe('账号已锁定，请 10 分钟后再试')
    expect(a.retryAfter).toBe(600)
    fetchMock.mockResolvedValueOnce(json(429, { error: 'locked', code: 'locked' }, { 'Retry-After': '120' }))
    const b = (await http.post('/api/v1/session', {}).catch((e: unknown) => e)) as ApiError
    expect(b.message).toBe('账号已锁定，请 2 分钟后再试')
  })
  it('keeps the detail of a 422 for the form', async () => {
    fetchMock.mockResolvedValueOnce(json(422, { error: 'bad', code: 'invalid', detail: ['a', 'b'] }))
    const err = (await http.put('/x', {}).catch((e: unknown) => e)) as ApiError
    expect(err.detail).toEqual(['a', 'b'])
  })
  it('reports a network failure in Chinese', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    const err = (await http.get('/x').catch((e: unknown) => e)) as ApiError
    expect(err.code).toBe('network')
    expect(err.message).toBe('无法连接服务器，请检查网络后重试')
  })
  it('reports a request that takes too long as a timeout', async () => {
    fetchMock.mockImplementationOnce(
      (_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    )
    const err = (await request('/x', { timeoutMs: 5 }).catch((e: unknown) => e)) as ApiError
    expect(err.code).toBe('timeout')
    expect(err.message).toBe('服务器响应超时，请稍后再试')
  })
  it('calls the 401 handler (sends the user to sign-in) unless told not to', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    fetchMock.mockResolvedValueOnce(json(401, { error: 'expired', code: 'session_expired' }))
    await http.get('/api/v1/tickets').catch(() => undefined)
    expect(handler).toHaveBeenCalledTimes(1)
    expect((handler.mock.calls[0][0] as ApiError).code).toBe('session_expired')
    fetchMock.mockResolvedValueOnce(json(401, { error: 'bad', code: 'bad_credentials' }))
    await http.post('/api/v1/session', {}, { skipAuthRedirect: true }).catch(() => undefined)
    expect(handler).toHaveBeenCalledTimes(1)
  })
})
