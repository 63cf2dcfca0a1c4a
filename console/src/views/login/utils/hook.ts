import { ApiError, CODE_MESSAGES } from '@/utils/errors'

/** The notice shown above the sign-in form when the router sent the user here. */
export function reasonNotice(reason: unknown): string | null {
  if (reason === 'expired') return CODE_MESSAGES.session_expired
  return null
}

/** What a failed sign-in tells the user (bad credentials, locked for N minutes, or the network). */
export function signInError(err: unknown): string {
  if (err instanceof ApiError) return err.message
  return '登录失败，请稍后再试'
}
