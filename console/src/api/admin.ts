import { http } from '@/utils/http'
import { apiPath } from './paths'
import type { DeadlineSettings, Directory, NewTerminal, NewUser, Role, Terminal, User } from './types'

export const listUsers = () => http.get<{ users: User[] }>(apiPath('adminUsers'))

export const createUser = (user: NewUser) =>
  http.post<{ user: User; set_password_link?: string }>(apiPath('adminUsers'), user)

export const updateUser = (id: string, patch: { role?: Role; department_id?: string | null; disabled?: boolean }) =>
  http.patch<{ user: User }>(apiPath('adminUser', { id }), patch)

export const resetPassword = (id: string) =>
  http.post<{ set_password_link: string; expires_at: string }>(apiPath('adminUserResetPassword', { id }))

export const listTerminals = () => http.get<{ terminals: Terminal[] }>(apiPath('adminTerminals'))

export const registerTerminal = (terminal: NewTerminal) =>
  http.post<{ terminal: Terminal; key: string }>(apiPath('adminTerminals'), terminal)

export const revokeTerminal = (id: string) => http.post<unknown>(apiPath('adminTerminalRevoke', { id }))

export const pairingCode = (id: string) =>
  http.post<{ code: string; expires_at: string }>(apiPath('adminTerminalPairingCode', { id }))

export const saveDirectory = (directory: Directory) => http.put<unknown>(apiPath('adminDirectory'), directory)

export const deadlineSettings = () => http.get<DeadlineSettings>(apiPath('deadlineSettings'))
