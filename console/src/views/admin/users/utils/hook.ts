import type { NewUser, Role, User } from '@/api/types'
import { needsDepartment, type UserForm } from './rule'

export function newUserBody(f: UserForm): NewUser {
  const body: NewUser = { id: f.id.trim(), role: f.role as Role }
  if (needsDepartment(f.role) || f.department_id) body.department_id = f.department_id || undefined
  if (f.password) body.password = f.password
  return body
}

/** Only what changed; a role without a department clears it (null). */
export function userPatch(original: User, f: UserForm): { role?: Role; department_id?: string | null } {
  const patch: { role?: Role; department_id?: string | null } = {}
  if (f.role && f.role !== original.role) patch.role = f.role
  const dept = f.department_id || null
  if (dept !== (original.department_id ?? null)) patch.department_id = dept
  return patch
}
