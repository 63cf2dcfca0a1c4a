// The one place where an API error becomes words for a person. The worker's `error` field is
// English text for logs and never shown; the message is chosen by `code`, then by HTTP status.

export const CODE_MESSAGES: Record<string, string> = {
  bad_credentials: '账号或密码错误',
  locked: '登录失败次数过多，账号已锁定，请稍后再试',
  session_expired: '会话已过期，请重新登录',
  unauthenticated: '请先登录',
  csrf: '页面已过期，请刷新页面后重试',
  forbidden: '没有权限执行此操作',
  not_found: '未找到相关记录',
  conflict: '该工单已被他人处理，已刷新为最新状态',
  illegal_transition: '工单当前状态不允许此操作',
  invalid: '提交的内容不符合要求，请检查后重试',
  too_large: '文件过大，不能超过 10 MB',
  unsupported_type: '不支持的文件类型，仅限 PDF、JPG、PNG、DOCX、XLSX',
  rate_limited: '操作过于频繁，请稍后再试',
  timeout: '服务器响应超时，请稍后再试',
  unavailable: '服务暂时不可用，请稍后再试',
  internal: '服务器内部错误，请稍后再试或联系管理员',
  network: '无法连接服务器，请检查网络后重试',
}

export const STATUS_MESSAGES: Record<number, string> = {
  400: '请求有误，请检查后重试',
  401: '请先登录',
  403: '没有权限执行此操作',
  404: '未找到相关记录',
  405: '不支持此操作',
  408: '请求超时，请稍后再试',
  409: '该记录已被他人修改，请刷新后重试',
  413: '内容过大，无法提交',
  415: '不支持的内容类型',
  422: '提交的内容不符合要求，请检查后重试',
  429: '操作过于频繁，请稍后再试',
  500: '服务器内部错误，请稍后再试或联系管理员',
  502: '服务暂时不可用，请稍后再试',
  503: '服务暂时不可用，请稍后再试',
  504: '服务器响应超时，请稍后再试',
}

export const FALLBACK_MESSAGE = '操作失败，请稍后再试'

/** Minutes to wait, rounded up, at least 1 (a lock of 40 s still reads "1 分钟"). */
export function retryMinutes(retryAfterSeconds: number): number {
  return Math.max(1, Math.ceil(retryAfterSeconds / 60))
}

export function messageFor(code: string | undefined | null, status: number, retryAfterSeconds?: number | null): string {
  if (code === 'locked' && retryAfterSeconds != null && Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0) {
    return `账号已锁定，请 ${retryMinutes(retryAfterSeconds)} 分钟后再试`
  }
  if (code && Object.hasOwn(CODE_MESSAGES, code)) return CODE_MESSAGES[code]
  if (Object.hasOwn(STATUS_MESSAGES, status)) return STATUS_MESSAGES[status]
  if (status >= 500) return STATUS_MESSAGES[500]
  return FALLBACK_MESSAGE
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly detail: unknown
  readonly retryAfter: number | null

  constructor(status: number, code: string, message: string, detail?: unknown, retryAfter: number | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.detail = detail
    this.retryAfter = retryAfter
  }

  get isConflict(): boolean {
    return this.code === 'conflict' || this.status === 409
  }
}

/** What to show for anything caught: an ApiError's Chinese message, never another error's text. */
export function userMessage(err: unknown): string {
  return err instanceof ApiError ? err.message : FALLBACK_MESSAGE
}

/**
 * The problems a 422 `invalid` lists in `detail`, as lines to show. API.md leaves the shape of
 * `detail` open, so strings, {message|msg, path|loc|field} objects and {field: message} maps are
 * all accepted; anything else is dropped rather than shown as raw JSON.
 */
export function detailLines(detail: unknown): string[] {
  const one = (item: unknown): string | null => {
    if (typeof item === 'string') return item
    if (item && typeof item === 'object') {
      const o = item as Record<string, unknown>
      const msg = o.message ?? o.msg ?? o.problem ?? o.error
      const where = o.path ?? o.loc ?? o.field
      const whereText = Array.isArray(where) ? where.join('.') : typeof where === 'string' ? where : ''
      if (typeof msg === 'string') return whereText ? `${whereText}：${msg}` : msg
    }
    return null
  }
  if (Array.isArray(detail)) return detail.map(one).filter((s): s is string => !!s)
  if (detail && typeof detail === 'object') {
    const o = detail as Record<string, unknown>
    if (Array.isArray(o.problems)) return detailLines(o.problems)
    if (Array.isArray(o.errors)) return detailLines(o.errors)
    return Object.entries(o)
      .filter(([, v]) => typeof v === 'string')
      .map(([k, v]) => `${k}：${v as string}`)
  }
  return typeof detail === 'string' ? [detail] : []
}
