import { http } from '@/utils/http'
import { apiPath } from './paths'
import type { SessionInfo } from './types'

export const signIn = (user_id: string, password: string) =>
  http.post<SessionInfo>(apiPath('session'), { user_id, password }, { skipAuthRedirect: true })

export const currentSession = () => http.get<SessionInfo>(apiPath('session'), undefined, { skipAuthRedirect: true })

export const signOut = () => http.delete<void>(apiPath('session'), { skipAuthRedirect: true })

export interface PasswordChange {
  token?: string
  user_id?: string
  old_password?: string
  new_password: string
}

/** Sets a password through a set-password link (token) or changes one (user_id + old_password). */
export const changePassword = (body: PasswordChange) =>
  http.post<void>(apiPath('sessionPassword'), body, { skipAuthRedirect: !!body.token })
