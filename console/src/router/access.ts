// Who may open which page and which menu items they see. This only hides what the API would
// refuse anyway; the API decides.
import type { Role } from '@/api/types'

export interface MenuItem {
  path: string
  title: string
  icon: 'Tickets' | 'Bell' | 'List' | 'User' | 'Monitor' | 'OfficeBuilding' | 'Timer' | 'DataAnalysis'
  roles: Role[]
}

export const MENU: MenuItem[] = [
  { path: '/tickets', title: '我的工单', icon: 'Tickets', roles: ['officer'] },
  { path: '/supervisor', title: '督办', icon: 'Bell', roles: ['supervisor'] },
  { path: '/tickets', title: '全部工单', icon: 'List', roles: ['supervisor'] },
  { path: '/admin/users', title: '用户管理', icon: 'User', roles: ['admin'] },
  { path: '/admin/terminals', title: '终端管理', icon: 'Monitor', roles: ['admin'] },
  { path: '/admin/directory', title: '大厅与窗口', icon: 'OfficeBuilding', roles: ['admin'] },
  { path: '/admin/settings', title: '时限设置', icon: 'Timer', roles: ['admin'] },
  { path: '/reports/monthly', title: '统计', icon: 'DataAnalysis', roles: ['manager'] },
]

export const menuFor = (role: Role | null | undefined): MenuItem[] =>
  role ? MENU.filter((m) => m.roles.includes(role)) : []

export const HOME_BY_ROLE: Record<Role, string> = {
  officer: '/tickets',
  supervisor: '/supervisor',
  admin: '/admin/users',
  manager: '/reports/monthly',
}

export interface RouteTarget {
  fullPath: string
  path: string
  meta: { public?: boolean; roles?: Role[] }
}

export type Decision = true | { path: string; query?: Record<string, string> }

/** The guard's decision for a navigation, given who is signed in (null: nobody). */
export function decideNavigation(to: RouteTarget, role: Role | null): Decision {
  if (to.meta.public) {
    if (to.path === '/login' && role) return { path: HOME_BY_ROLE[role] }
    return true
  }
  if (!role) return { path: '/login', query: to.fullPath && to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  if (to.path === '/') return { path: HOME_BY_ROLE[role] }
  if (to.meta.roles && !to.meta.roles.includes(role)) return { path: '/403' }
  return true
}

/**
 * The set-password page a link of `haocha user add --set-password-link` / reset-password opens: the
 * link reads `/console/#/set-password?token=…` (a hash survives any proxy's path rewriting), the
 * console's page is /password?token=….
 */
export function setPasswordLink(hash: string): Decision | null {
  const m = /^#\/set-password\?(.*)$/.exec(hash)
  const token = m ? new URLSearchParams(m[1]).get('token') : null
  return token ? { path: '/password', query: { token } } : null
}

/** Only same-app paths are followed after sign-in (no open redirect to another site). */
export function safeRedirect(value: unknown, role: Role): string {
  if (typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && value !== '/login') return value
  return HOME_BY_ROLE[role]
}
