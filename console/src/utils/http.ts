// The one fetch wrapper: same-origin cookie, X-CSRF-Token on state-changing requests, JSON in and
// out, and every failure (non-2xx, network, timeout) turned into an ApiError with a Chinese message.
import { ApiError, messageFor } from './errors'

export type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  query?: Query
  /** A plain value is sent as JSON; FormData as multipart (the browser sets the boundary). */
  body?: unknown
  signal?: AbortSignal
  timeoutMs?: number
  /** Do not call the 401 handler (the sign-in request itself, the initial session probe). */
  skipAuthRedirect?: boolean
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const DEFAULT_TIMEOUT_MS = 30_000

let csrfToken: string | null = null
let onUnauthorized: ((err: ApiError) => void) | null = null

export function setCsrfToken(token: string | null): void {
  csrfToken = token
}
export function getCsrfToken(): string | null {
  return csrfToken
}
/** Called once per 401 (session expired or never signed in); the router sends the user to /login. */
export function setUnauthorizedHandler(handler: ((err: ApiError) => void) | null): void {
  onUnauthorized = handler
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.append(key, String(value))
  }
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

function retryAfterOf(body: Record<string, unknown> | null, res: Response): number | null {
  const candidates = [
    body?.retry_after,
    (body?.detail as Record<string, unknown> | undefined)?.retry_after,
    res.headers.get('Retry-After'),
  ]
  for (const c of candidates) {
    const n = typeof c === 'string' ? Number(c) : c
    if (typeof n === 'number' && Number.isFinite(n)) return n
  }
  return null
}

export async function toApiError(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> | null = null
  try {
    const text = await res.text()
    const parsed: unknown = text ? JSON.parse(text) : null
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>
  } catch {
    body = null // a proxy's HTML page or an empty body: fall back to the status
  }
  const code = typeof body?.code === 'string' ? body.code : `http_${res.status}`
  const retryAfter = retryAfterOf(body, res)
  return new ApiError(res.status, code, messageFor(code, res.status, retryAfter), body?.detail, retryAfter)
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET'
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined
  if (options.body instanceof FormData) {
    body = options.body
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  if (!SAFE_METHODS.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken

  const controller = new AbortController()
  const timeout = setTimeout(() => controller.abort('timeout'), options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const abortFromCaller = () => controller.abort('caller')
  options.signal?.addEventListener('abort', abortFromCaller)

  let res: Response
  try {
    res = await fetch(withQuery(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: controller.signal,
    })
  } catch (err) {
    if (options.signal?.aborted) throw err
    const timedOut = controller.signal.aborted
    throw new ApiError(0, timedOut ? 'timeout' : 'network', messageFor(timedOut ? 'timeout' : 'network', 0))
  } finally {
    clearTimeout(timeout)
    options.signal?.removeEventListener('abort', abortFromCaller)
  }

  if (!res.ok) {
    const err = await toApiError(res)
    if (res.status === 401 && !options.skipAuthRedirect) onUnauthorized?.(err)
    throw err
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  if (!text) return undefined as T
  try {
    return JSON.parse(text) as T
  } catch {
    throw new ApiError(res.status, 'bad_response', '服务器返回的数据无法识别，请稍后再试')
  }
}

export const http = {
  get: <T>(path: string, query?: Query, options: RequestOptions = {}) => request<T>(path, { ...options, method: 'GET', query }),
  post: <T>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>(path, { ...options, method: 'POST', body }),
  put: <T>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>(path, { ...options, method: 'PUT', body }),
  patch: <T>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>(path, { ...options, method: 'PATCH', body }),
  delete: <T>(path: string, options: RequestOptions = {}) => request<T>(path, { ...options, method: 'DELETE' }),
}
