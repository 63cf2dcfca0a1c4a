import { describe, expect, it } from 'vitest'
import { ApiError, CODE_MESSAGES, detailLines, FALLBACK_MESSAGE, messageFor, retryMinutes, userMessage } from '@/utils/errors'

const API_CODES = [
  'bad_credentials', 'locked', 'session_expired', 'unauthenticated', 'csrf', 'forbidden', 'not_found', 'conflict',
  'illegal_transition', 'invalid', 'too_large', 'unsupported_type', 'rate_limited', 'timeout', 'unavailable', 'internal',
]
const hasCjk = (s: string) => /[\u4e00-\u9fff]/.test(s)

describe('error code -> Chinese message', () => {
  it('has a Chinese message for every code API.md lists', () => {
    for (const code of API_CODES) {
      expect(CODE_MESSAGES[code], code).toBeDefined()
      expect(hasCjk(CODE_MESSAGES[code]), code).toBe(true)
    }
  })
  it('chooses by code first, whatever the status', () => {
    expect(messageFor('bad_credentials', 401)).toBe('账号或密码错误')
    expect(messageFor('session_expired', 401)).toBe('会话已过期，请重新登录')
    expect(messageFor('conflict', 409)).toBe('该工单已被他人处理，已刷新为最新状态')
    expect(messageFor('illegal_transition', 422)).toBe('工单当前状态不允许此操作')
    expect(messageFor('too_large', 413)).toContain('10 MB')
  })
  it('says how many minutes a locked account waits, rounded up', () => {
    expect(messageFor('locked', 429, 900)).toBe('账号已锁定，请 15 分钟后再试')
    expect(messageFor('locked', 429, 61)).toBe('账号已锁定，请 2 分钟后再试')
    expect(messageFor('locked', 429, 5)).toBe('账号已锁定，请 1 分钟后再试')
    expect(messageFor('locked', 429)).toBe(CODE_MESSAGES.locked)
    expect(retryMinutes(0)).toBe(1)
  })
  it('falls back to the HTTP status for an unknown code', () => {
    expect(messageFor('brand_new_code', 404)).toBe('未找到相关记录')
    expect(messageFor('brand_new_code', 403)).toBe('没有权限执行此操作')
    expect(messageFor(undefined, 503)).toBe('服务暂时不可用，请稍后再试')
    expect(messageFor(null, 422)).toBe('提交的内容不符合要求，请检查后重试')
  })
  it('falls back to a server error for an unlisted 5xx, and a generic message otherwise', () => {
    expect(messageFor('x', 507)).toBe(messageFor('internal', 500))
    expect(messageFor('x', 418)).toBe(FALLBACK_MESSAGE)
  })
  it('does not mistake inherited object keys for codes', () => {
    expect(messageFor('toString', 404)).toBe('未找到相关记录')
    expect(messageFor('constructor', 418)).toBe(FALLBACK_MESSAGE)
  })
  it('never shows the text of a non-API error', () => {
    expect(userMessage(new TypeError('Cannot read properties of undefined'))).toBe(FALLBACK_MESSAGE)
    expect(userMessage(new ApiError(404, 'not_found', '未找到相关记录'))).toBe('未找到相关记录')
  })
  it('flags conflicts by code or status', () => {
    expect(new ApiError(409, 'http_409', 'x').isConflict).toBe(true)
    expect(new ApiError(422, 'conflict', 'x').isConflict).toBe(true)
    expect(new ApiError(422, 'invalid', 'x').isConflict).toBe(false)
  })
})

describe('detail lines of a 422', () => {
  it('accepts strings, message objects and field maps, and drops the rest', () => {
    expect(detailLines(['窗口 W1 的部门不存在'])).toEqual(['窗口 W1 的部门不存在'])
    expect(detailLines([{ loc: ['windows', 0, 'hall_id'], msg: 'unknown hall' }])).toEqual(['windows.0.hall_id：unknown hall'])
    expect(detailLines({ problems: [{ path: 'halls[1]', message: 'duplicate id' }] })).toEqual(['halls[1]：duplicate id'])
    expect(detailLines({ name: 'required' })).toEqual(['name：required'])
    expect(detailLines([42, null, { nothing: true }])).toEqual([])
    expect(detailLines(undefined)).toEqual([])
  })
})
