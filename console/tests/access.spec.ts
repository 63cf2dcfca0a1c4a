import { describe, expect, it } from 'vitest'
import { decideNavigation, menuFor, safeRedirect, setPasswordLink } from '@/router/access'
import { routes } from '@/router'

const to = (path: string, meta: object = {}) => ({ path, fullPath: path, meta })

describe('menu by role', () => {
  it('gives each role its items', () => {
    expect(menuFor('officer').map((m) => m.title)).toEqual(['我的工单'])
    expect(menuFor('supervisor').map((m) => m.title)).toEqual(['督办', '全部工单'])
    expect(menuFor('admin').map((m) => m.title)).toEqual(['用户管理', '终端管理', '大厅与窗口', '时限设置'])
    expect(menuFor('manager').map((m) => m.title)).toEqual(['统计'])
    expect(menuFor(null)).toEqual([])
  })
  it('every menu item leads to a route that lets its roles in', () => {
    const children = routes.find((r) => r.path === '/')!.children!
    for (const role of ['officer', 'supervisor', 'admin', 'manager'] as const) {
      for (const item of menuFor(role)) {
        const route = children.find((c) => '/' + c.path === item.path)
        expect(route, item.path).toBeDefined()
        expect(route!.meta!.roles, item.path).toContain(role)
      }
    }
  })
})

describe('navigation guard', () => {
  it('sends the signed-out to sign-in, remembering where they were going', () => {
    expect(decideNavigation(to('/tickets/T1', { roles: ['officer'] }), null)).toEqual({ path: '/login', query: { redirect: '/tickets/T1' } })
    expect(decideNavigation(to('/'), null)).toEqual({ path: '/login', query: {} })
  })
  it('lets the public pages through, but a signed-in user skips sign-in', () => {
    expect(decideNavigation(to('/login', { public: true }), null)).toBe(true)
    expect(decideNavigation(to('/password', { public: true }), 'admin')).toBe(true)
    expect(decideNavigation(to('/login', { public: true }), 'officer')).toEqual({ path: '/tickets' })
  })
  it('sends each role home and keeps it out of other roles’ pages', () => {
    expect(decideNavigation(to('/'), 'supervisor')).toEqual({ path: '/supervisor' })
    expect(decideNavigation(to('/'), 'manager')).toEqual({ path: '/reports/monthly' })
    expect(decideNavigation(to('/admin/users', { roles: ['admin'] }), 'officer')).toEqual({ path: '/403' })
    expect(decideNavigation(to('/admin/users', { roles: ['admin'] }), 'admin')).toBe(true)
  })
  it('follows only same-app redirects after sign-in', () => {
    expect(safeRedirect('/tickets/T1', 'officer')).toBe('/tickets/T1')
    expect(safeRedirect('//evil.example/x', 'officer')).toBe('/tickets')
    expect(safeRedirect('https://evil.example', 'admin')).toBe('/admin/users')
    expect(safeRedirect(undefined, 'manager')).toBe('/reports/monthly')
  })
})

describe('set-password links', () => {
  it('open the password page with the token of /console/#/set-password?token=…', () => {
    expect(setPasswordLink('#/set-password?token=o-li.abc_DEF-1')).toEqual({ path: '/password', query: { token: 'o-li.abc_DEF-1' } })
    expect(setPasswordLink('#/set-password?x=1')).toBeNull()
    expect(setPasswordLink('#section')).toBeNull()
    expect(setPasswordLink('')).toBeNull()
  })
})
