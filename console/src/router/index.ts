import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import type { Role } from '@/api/types'
import { useSessionStore } from '@/store/session'
import { setUnauthorizedHandler } from '@/utils/http'
import { decideNavigation, setPasswordLink } from './access'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    public?: boolean
    roles?: Role[]
  }
}

const Layout = () => import('@/layout/index.vue')

export const routes: RouteRecordRaw[] = [
  { path: '/login', component: () => import('@/views/login/index.vue'), meta: { public: true, title: '登录' } },
  {
    path: '/password',
    component: () => import('@/views/login/password.vue'),
    meta: { public: true, title: '设置密码' },
  },
  {
    path: '/',
    component: Layout,
    children: [
      {
        path: 'tickets',
        component: () => import('@/views/tickets/queue/index.vue'),
        meta: { title: '工单', roles: ['officer', 'supervisor'] },
      },
      {
        path: 'tickets/:id',
        component: () => import('@/views/tickets/detail/index.vue'),
        props: true,
        meta: { title: '工单详情', roles: ['officer', 'supervisor'] },
      },
      {
        path: 'supervisor',
        component: () => import('@/views/supervisor/index/index.vue'),
        meta: { title: '督办', roles: ['supervisor'] },
      },
      {
        path: 'admin/users',
        component: () => import('@/views/admin/users/index.vue'),
        meta: { title: '用户管理', roles: ['admin'] },
      },
      {
        path: 'admin/terminals',
        component: () => import('@/views/admin/terminals/index.vue'),
        meta: { title: '终端管理', roles: ['admin'] },
      },
      {
        path: 'admin/directory',
        component: () => import('@/views/admin/directory/index.vue'),
        meta: { title: '大厅与窗口', roles: ['admin'] },
      },
      {
        path: 'admin/settings',
        component: () => import('@/views/admin/settings/index.vue'),
        meta: { title: '时限设置', roles: ['admin'] },
      },
      {
        path: 'reports/monthly',
        component: () => import('@/views/reports/monthly/index.vue'),
        meta: { title: '统计', roles: ['manager'] },
      },
      { path: '403', component: () => import('@/views/error/403.vue'), meta: { title: '无权访问' } },
    ],
  },
  { path: '/:pathMatch(.*)*', component: () => import('@/views/error/404.vue'), meta: { public: true, title: '页面不存在' } },
]

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

router.beforeEach(async (to) => {
  const link = setPasswordLink(to.hash)
  if (link) return link
  const session = useSessionStore()
  let role: Role | null = null
  try {
    role = (await session.ensureLoaded())?.role ?? null
  } catch {
    role = null // worker unreachable: the sign-in page says so when the user tries
  }
  return decideNavigation({ fullPath: to.fullPath, path: to.path, meta: to.meta }, role)
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · 好差评整改工单` : '好差评整改工单'
})

/** A 401 anywhere (session expired, signed out elsewhere): back to sign-in, then back here. */
setUnauthorizedHandler((err) => {
  const session = useSessionStore()
  session.clear()
  const current = router.currentRoute.value
  if (current.meta.public) return
  void router.replace({
    path: '/login',
    query: { redirect: current.fullPath, reason: err.code === 'session_expired' ? 'expired' : 'signin' },
  })
})
